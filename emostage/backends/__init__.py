"""Model backends beyond LangChain's own integrations: llama.cpp, and shared helpers."""
