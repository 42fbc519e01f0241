"""Shared fixtures for AI tests: tiny random models built offline from config classes.

Every builder writes a full model directory (weights, config, tokenizer) once per session, so
tests run the real loading, batching and decoding code. See docs/inference.md for the list.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never reach the Hugging Face Hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from ai.inference import tiny  # noqa: E402

torch.set_num_threads(1)  # the CI machine has two cores shared by many test runs


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory):
    """LlamaForCausalLM (hidden 64, 2 layers) with a word-level tokenizer and a chat template.
    End-of-sequence never wins greedily, so greedy generation runs to max_new_tokens."""
    return tiny.build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory):
    """MarianMTModel (d_model 32) with a real MarianTokenizer over two tiny sentencepiece models."""
    return tiny.build_tiny_marian(tmp_path_factory.mktemp("tiny-marian"))


@pytest.fixture(scope="session")
def tiny_m2m100_dir(tmp_path_factory):
    """M2M100ForConditionalGeneration (d_model 32) with a real M2M100Tokenizer (`__fr__`-style language tokens)."""
    return tiny.build_tiny_m2m100(tmp_path_factory.mktemp("tiny-m2m100"))


@pytest.fixture(scope="session")
def tiny_bert_classifier_dir(tmp_path_factory):
    """BertForSequenceClassification (labels ok/toxic/spam, single-label: softmax scores)."""
    return tiny.build_tiny_bert_classifier(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_bert_multilabel_dir(tmp_path_factory):
    """The same tiny BERT configured as multi-label (problem_type multi_label_classification: sigmoid)."""
    return tiny.build_tiny_bert_classifier(tmp_path_factory.mktemp("tiny-bert-ml"), multi_label=True, seed=1)
