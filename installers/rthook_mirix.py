"""PyInstaller runtime hook: runs before any app code in the bundle.

Privacy guards first (onnxruntime phones home on import unless told not to; Chroma telemetry off;
no model hub is ever asked), then a `tesseract/` folder next to the executables (where the Windows
installer may put Tesseract) is added to PATH so pytesseract finds it.
"""

import os
import sys

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_tesseract = os.path.join(os.path.dirname(sys.executable), "tesseract")
if os.path.isdir(_tesseract) and _tesseract not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + _tesseract
