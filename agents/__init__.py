"""The built-in search agents, installed as `actgym.agents` (docs/agents.md).

`random` (random_search.py) samples the expression grammar (grammar.py). `evolver`
(evolver.py) is the AlphaEvolve-style loop: a MAP-Elites program database with islands
(program_database.py), prompts (prompts.py), replies turned into sources (edits.py) and
an LLM behind the OpenAI-compatible client (llm/openai.py) or in this process
(llm/transformers.py, with the constrained decoding of llm/constrained.py). `hf-mutator`
is a plain mutator on a local Hugging Face model in process; `llm-sample` (sampler.py)
asks the evolver's first-generation prompts again and again, without evolution, as a
reference.
Agents are found by name through actgym.agents_registry.
"""
