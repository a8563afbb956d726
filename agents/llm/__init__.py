"""Where the LLM agents' text comes from: the protocol every language model backend meets
(`protocol`), any OpenAI-compatible server (`openai`), a model in this process
(`transformers`), and the constrained decoding that keeps a small model to one usable line
(`constrained`)."""
