"""Candidate retrieval: any-word recall, the relevance floor, accents, synonyms, freshness."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.matching import retrieval
from marketplace.matching.need import Need, interpret
from marketplace.matching.retrieval import candidates, doc_fields, match_fields, need_plan, term_index
from marketplace.search.base import doc_from_product
from tests.helpers import make_product
from tests.matching.conftest import product


def refs(found) -> list[str]:
    from marketplace.catalog.models import Product

    ids = list(found.matches)
    by_id = dict(db.session.execute(db.select(Product.id, Product.ref).where(Product.id.in_(ids))).all())
    return [by_id[i] for i in ids]


def recall(text: str, **fields) -> list[str]:
    need = Need(text, **fields)
    return refs(candidates(need, interpret(text).content))


def test_every_word_is_not_required(sample):
    """'quà tặng' is in no miến product: the miến dong products still come, first."""
    found = recall("cần mua 500 kg miến dong loại ngon làm quà tặng")
    assert found[:2] in (["S-0009", "S-0010"], ["S-0010", "S-0009"])


def test_one_weak_word_does_not_make_a_candidate(sample):
    """'dong' alone is in Hà Đông (place), lá dong (description), Sơn Đồng (producer)…"""
    found = recall("miến dong")
    assert set(found) == {"S-0009", "S-0010"}
    assert "S-0005" not in recall("miến dong Hà Đông")  # the Hà Đông silk is not a miến supplier


def test_description_and_producer_matches_count(sample):
    """'gốm' is in the name of two products and only in the producer and description of S-0003."""
    assert {"S-0004", "S-0024", "S-0003"} <= set(recall("gốm"))


def test_synonyms_from_the_search_package(sample):
    assert "S-0003" in recall("sứ")  # gốm, sứ
    assert "S-0017" in recall("trà xanh")  # trà, chè


def test_unaccented_needs_match(sample):
    assert recall("lan may")[:1] == ["S-0001"]
    assert recall("mien dong")[:2] in (["S-0009", "S-0010"], ["S-0010", "S-0009"])


def test_typed_accents_rank_the_exact_word_first(sample):
    """'may' (sew) and 'mây' (rattan) fold alike; the typed form wins."""
    rattan = candidates(Need("mây"), "mây").matches
    sewn = candidates(Need("may mặc"), "may mặc").matches
    assert refs(candidates(Need("mây"), "mây"))[0] == "S-0001"
    assert refs(candidates(Need("may mặc"), "may mặc"))[0] in {"S-0006", "S-0032"}
    assert rattan and sewn


def test_group_prefilter(sample):
    assert recall("gốm", ocop_group="tourism") == ["S-0024"]


def test_unknown_words_are_reported_and_ignored(sample):
    found = candidates(Need("xyzzy"), "xyzzy")
    assert not found.matches and found.unknown_words == ("xyzzy",)
    assert recall("miến dong xyzzy")[:1] in (["S-0009"], ["S-0010"])


def test_index_and_field_scoring_agree(sample):
    """The in-memory postings (with MaxScore pruning) and the pure per-product path keep the same
    products with the same relevance."""
    from marketplace.catalog.models import Product

    index = term_index()
    docs = [doc_from_product(p) for p in db.session.scalars(db.select(Product))]
    texts = (
        "miến dong quà tặng",
        "gốm",
        "mây",
        "lụa tơ tằm",
        "mật ong hoa nhãn",
        "chè xanh Ba Vì",
        "dong",
        "tơ tằm quà",
    )
    for text in texts:
        plan = need_plan(text)
        weights = index.df_weights(plan)
        found = index.search(plan)
        brute = retrieval.apply_floor({d.product_id: match_fields(plan, weights, d.analysed()) for d in docs if d})
        assert set(found) == set(brute), text
        for pid, match in found.items():
            assert brute[pid].relevance == pytest.approx(match.relevance, abs=1e-6)
    assert all(doc_fields(d) == d.analysed() for d in docs if d)


def test_search_source_finds_the_same(sample):
    sample.config["MATCH_CANDIDATES"] = "search"
    for text in ("miến dong", "gốm", "làn mây"):
        via_search = recall(text)
        sample.config["MATCH_CANDIDATES"] = "index"
        via_index = recall(text)
        sample.config["MATCH_CANDIDATES"] = "search"
        assert set(via_search) == set(via_index), text


def test_changes_after_the_index_was_built_are_seen(sample):
    assert "S-0009" in recall("miến dong")
    term_index()  # built
    p9 = product("S-0009")
    p9.status = "archived"
    p1 = product("S-0001")
    p1.name = "Miến dong đan tay"  # renamed
    new = make_product(name="Miến dong Bắc Kạn", ref="NEW-1")
    db.session.commit()
    found = recall("miến dong")
    assert "S-0009" not in found
    assert {"S-0001", "NEW-1", "S-0010"} <= set(found)
    db.session.delete(new)
    db.session.commit()
    assert "NEW-1" not in recall("miến dong")
    holder = sample.extensions[retrieval.EXTENSION_KEY]
    assert holder.index.overlay  # served from the overlay, no full rebuild


def test_a_large_overlay_is_folded_into_a_new_base(sample):
    sample.config["MATCH_INDEX_OVERLAY_MAX"] = 1
    term_index()
    for ref in ("S-0001", "S-0002", "S-0003"):
        product(ref).description += " thêm"
    db.session.commit()
    index = term_index()
    assert not index.overlay
    assert index.size == 35


def test_a_typo_gets_a_suggestion_not_a_silent_correction(sample):
    found = candidates(Need("miến dongg"), "miến dongg")
    assert found.unknown_words == ("dongg",)
    assert found.suggestion == "miến dong"
    assert set(refs(found)) <= {"S-0009", "S-0010"}  # the known word still finds them, nothing else


def test_warm_builds_the_index_in_the_background_once(sample, monkeypatch):
    """A gunicorn worker warms the index at start; a request arriving meanwhile waits for that
    build rather than starting a second one."""
    import threading

    db.session.commit()  # the sample is visible to the warming thread's own connection
    builds = []
    real_build = retrieval.IndexHolder._build

    def counted(self, app):
        builds.append(threading.current_thread().name)
        real_build(self, app)

    monkeypatch.setattr(retrieval.IndexHolder, "_build", counted)
    thread = retrieval.warm(sample)
    index = term_index()  # may run while the warm-up builds
    thread.join(30)
    assert not thread.is_alive()
    assert index is sample.extensions[retrieval.EXTENSION_KEY].index
    assert len(builds) == 1
    assert "S-0009" in recall("miến dong")
