from realtime_mkt.catalogue import SKU_INPUTS, load_catalogue
from realtime_mkt.schemas import SCHEMA_DIR, load_schema
from realtime_mkt.settings import Settings


def test_every_data_topic_has_a_schema_file():
    for spec in load_catalogue().values():
        if spec.role in ("input", "internal", "output"):
            assert (SCHEMA_DIR / f"{spec.schema}.json").exists(), spec.name
            assert load_schema(spec.schema)["title"] == spec.schema


def test_the_sku_agents_topics_are_co_partitioned():
    catalogue = load_catalogue()
    sku_keyed = (*SKU_INPUTS, "sku-state-changelog")
    assert len({catalogue[name].partitions for name in sku_keyed}) == 1
    assert catalogue["clicks"].partitions == catalogue["user-state-changelog"].partitions


def test_catalog_and_changelogs_are_compacted():
    for spec in load_catalogue().values():
        if spec.name == "catalog" or spec.role == "changelog":
            assert spec.config["cleanup.policy"] == "compact"


def test_changelogs_are_stored_compressed():
    """A worker that lost its disk restores its tables by reading their changelogs whole."""
    changelogs = [spec for spec in load_catalogue().values() if spec.role == "changelog"]
    assert changelogs and all(spec.config["compression.type"] == "zstd" for spec in changelogs)


def test_prefix_and_changelog_names():
    settings = Settings("x:1", "t1.", data_dir=None, web_port=0, web_enabled=False)  # type: ignore[arg-type]
    catalogue = load_catalogue()
    assert catalogue["orders"].full_name(settings) == "t1.orders"
    assert (
        catalogue["sku-state-changelog"].full_name(settings)
        == "t1.realtime-mkt-sku-state-changelog"
    )
