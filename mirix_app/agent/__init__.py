"""The memory agent: a local model sorts inbox items into the six stores and answers chat.

Public API (import from the submodules; nothing here loads a model or imports Qt):
- `mirix_app.agent.settings`: `ModelSettings`, `AgentSettings`, `make_model(settings)`,
  `set_api_key` / `get_api_key`.
- `mirix_app.agent.models`: `Model` (stream / complete / structured / status / load),
  `LlamaCppModel`, `OpenAICompatModel`, `register` (the scripted test model is in tests/fakes.py).
- `mirix_app.agent.pipeline`: `Pipeline`; `mirix_app.agent.job`: `ProcessingJob` (start / cancel /
  wait / run).
- `mirix_app.agent.chat`: `ChatAgent.ask(question) -> ChatReply` (iterate for tokens; then
  `.citations`).
"""
