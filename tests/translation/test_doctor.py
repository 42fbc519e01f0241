"""`townsquare doctor` on translation: declared by the domain, and what it says per configuration."""

from server.config import ModelsConfig
from tests.conftest import make_settings


def test_the_domain_declares_the_section():
    from server.domains import doctor_sections
    from server.translation.doctor import doctor_section

    assert doctor_sections()["translation"] is doctor_section


def test_a_missing_model_and_an_opus_template_are_explained(tmp_path):
    from server.translation.doctor import doctor_section

    missing = doctor_section(make_settings(tmp_path, models=ModelsConfig(translation="facebook/m2m100_418M")))
    assert missing["model"][0] == "missing" and "models pull" in missing["model"][1]
    assert missing["delivery"][0] == "degraded" and "untranslated" in missing["delivery"][1]

    settings = make_settings(tmp_path, languages=["en", "es", "de"], translation_pairs=["es-de"],
                             models=ModelsConfig(translation="Helsinki-NLP/opus-mt-{src}-{tgt}"))
    template = doctor_section(settings)
    assert template["model"] == ("missing", "Helsinki-NLP/opus-mt-{src}-{tgt}: 0 of 5 pairs present; missing "
                                            "es-en, en-es, de-en, en-de, es-de (`townsquare models pull`)")
    assert template["delivery"][0] == "degraded" and "0 of 6" in template["delivery"][1]
    from server.inference.specs import specs_from_settings

    if "translate:es-en" in {spec.name for spec in specs_from_settings(settings)}:
        assert "inference" not in template
    else:  # the inference domain does not build per-pair models (yet): doctor says so
        assert "translation_specs" in template["inference"][1]
