"""Asking the model: everything between a node and a model server.

| module      | what it owns                                                          |
|-------------|-----------------------------------------------------------------------|
| `ask`       | what to make of an answer: bad-answer retries, fallbacks, cleaning    |
| `invoke`    | carrying a call out, sync or async: transient-fault retries, deadline |
| `source`    | which model: the backend (`auto` resolved), built models cached       |
| `deadline`  | every run-scoped variable: the turn's deadline, a call's bound, the   |
|             | session key sent to the server                                        |
| `backends/` | one module per backend (Ollama, llama.cpp, OpenAI-compatible, scripted) |
"""
