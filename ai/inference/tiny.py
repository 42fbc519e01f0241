"""Tiny random models for tests and benchmarks, built offline from config classes.

Each builder writes a complete model directory (weights, config, tokenizer) with
`save_pretrained`, so the real loading, batching and decoding code runs against it.
Weights are random: outputs are deterministic but meaningless.
"""

from __future__ import annotations

import json
from pathlib import Path

_WORDS = """
the a an and or but if then so to of in on at by for with from up down over under
i you he she it we they me him her us them my your his its our their this that these those
is are was were be been am do does did have has had will would can could shall should may might must
hello hi hey welcome bye goodbye thanks thank please yes no maybe ok okay sure sorry
what who where when why how which much many some any all none each every other another
good bad great nice fine happy sad angry tired hungry cold hot warm new old big small long short
day night morning evening today tomorrow yesterday week year time now later soon again
town square shop market inn tavern road river bridge forest hill house home door window table
coin coins gold silver price buy sell trade pay cost cheap free bread apple fish milk cheese wine
friend stranger traveler merchant baker smith guard farmer child mayor neighbor
walk run come go see look find give take make know think want need like love hate tell say ask
name weather rain sun snow wind quiet loud here there far near left right inside outside
one two three four five ten hundred first last next
spam scam hate kill stupid idiot ugly dumb nasty rude
""".split()
_PUNCT = [".", ",", "?", "!", ":", "'"]
_ROLES = ["system", "user", "assistant"]

LLAMA_CHAT_TEMPLATE = (
    "{% for m in messages %}<s> {{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<s> assistant :{% endif %}"
)


def vocabulary() -> list[str]:
    """The shared word list (no special tokens), de-duplicated, in a stable order."""
    seen: dict[str, None] = {}
    for w in _WORDS + _PUNCT + _ROLES:
        seen.setdefault(w, None)
    return list(seen)


def sample_sentences(n: int = 300) -> list[str]:
    """Deterministic pseudo-sentences over the vocabulary (for spm training and benches)."""
    import random

    rng = random.Random(1234)
    words = [w for w in vocabulary() if w not in _PUNCT]
    out = []
    for _ in range(n):
        k = rng.randint(3, 12)
        out.append(" ".join(rng.choice(words) for _ in range(k)) + rng.choice([" .", " ?", " !"]))
    return out


def _word_level_tokenizer(specials: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(specials + vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # joins words with spaces
    return tok


def build_tiny_llama(path: str | Path, *, hidden_size: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A ~0.1M-parameter LlamaForCausalLM with a word-level tokenizer and a chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_word_level_tokenizer(specials),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
    )
    tokenizer.chat_template = LLAMA_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=1024, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    _scale_embeddings(model)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _scale_embeddings(model) -> None:
    """Random init gives near-uniform logits: widen them so greedy choices are not near-ties, and
    give end-of-sequence a zero logit so greedy decoding runs to max_new_tokens (stop words still work)."""
    import torch

    with torch.no_grad():
        head = model.get_output_embeddings().weight
        head.mul_(8.0)
        head[model.config.eos_token_id].zero_()


def build_tiny_bert_classifier(
    path: str | Path, *, labels: tuple[str, ...] = ("ok", "toxic", "spam"), multi_label: bool = False,
    hidden_size: int = 32, seed: int = 0,
) -> Path:
    """A tiny BertForSequenceClassification with `id2label`; multi_label sets problem_type."""
    import torch
    from tokenizers import processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    path = Path(path)
    tok = _word_level_tokenizer(["[PAD]", "<unk>", "[CLS]", "[SEP]", "[MASK]"])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=hidden_size * 2, max_position_embeddings=128, pad_token_id=0,
        num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_marian(path: str | Path, *, d_model: int = 32, seed: int = 0) -> Path:
    """A tiny MarianMTModel with a real MarianTokenizer (two tiny sentencepiece models)."""
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in ("source.spm", "target.spm"):
        _train_spm(path / name)
    vocab = _spm_vocab(path / "source.spm", ["<pad>", "<unk>", "</s>"])
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tokenizer = MarianTokenizer(
        source_spm=str(path / "source.spm"), target_spm=str(path / "target.spm"),
        vocab=str(path / "vocab.json"), source_lang="en", target_lang="xx",
    )
    config = MarianConfig(
        vocab_size=len(vocab), decoder_vocab_size=len(vocab), d_model=d_model,
        encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=d_model * 2, decoder_ffn_dim=d_model * 2, max_position_embeddings=128,
        pad_token_id=0, eos_token_id=2, decoder_start_token_id=0, forced_eos_token_id=2,
        share_encoder_decoder_embeddings=True,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _train_spm(target: Path) -> None:
    """Train a ~160-piece unigram sentencepiece model on the sample sentences (well under a second)."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sample_sentences(400)), model_writer=buf, vocab_size=160,
        model_type="unigram", character_coverage=1.0, minloglevel=2, hard_vocab_limit=False,
        unk_id=0, bos_id=-1, eos_id=1, pad_id=-1,
    )
    target.write_bytes(buf.getvalue())


def _spm_vocab(model_file: Path, specials: list[str]) -> dict[str, int]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = {tok: i for i, tok in enumerate(specials)}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    return vocab


def build_tiny_m2m100(path: str | Path, *, d_model: int = 32, seed: int = 0) -> Path:
    """A tiny M2M100ForConditionalGeneration with a real M2M100Tokenizer (100 `__xx__` language tokens)."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _train_spm(path / "sentencepiece.bpe.model")
    vocab = _spm_vocab(path / "sentencepiece.bpe.model", ["<s>", "<pad>", "</s>", "<unk>"])
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tokenizer = M2M100Tokenizer(
        vocab_file=str(path / "vocab.json"), spm_file=str(path / "sentencepiece.bpe.model"), src_lang="en",
        tgt_lang="fr",
    )
    size = max(len(tokenizer), max(tokenizer.lang_code_to_id.values()) + 1 + tokenizer.num_madeup_words)
    config = M2M100Config(
        vocab_size=size, d_model=d_model, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=d_model * 2,
        decoder_ffn_dim=d_model * 2, max_position_embeddings=128, pad_token_id=1, bos_token_id=0,
        eos_token_id=2, decoder_start_token_id=2,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
