import os

import numpy as np
import pandas as pd
import pytest
from twinpurify import InputError
from twinpurify.io import atomic_path, read_samples_split, read_table, write_table


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "good"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_atomic_writes_get_normal_permissions(tmp_path, log_pair):
    from twinpurify import TwinPurify
    from twinpurify.io import default_mode

    write_table(pd.DataFrame({"a": [1.0]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == default_mode()
    m = TwinPurify(n_components=2, hidden_dims=(4,), projector_dims=(4,), max_epochs=1, verbose=False).fit(*log_pair)
    m.save(tmp_path / "m")
    assert (tmp_path / "m").stat().st_mode & 0o777 == default_mode(directory=True)


def test_round_trip_formats(tmp_path):
    df = pd.DataFrame({"g1": [1.5, 2.0], "g2": [3.0, 4.25]}, index=["s1", "s2"])
    for name in ["a.csv", "a.tsv", "a.csv.gz", "a.parquet"]:
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name)
        pd.testing.assert_frame_equal(back, df, check_names=False, check_index_type=False)
    with pytest.raises(InputError, match="unknown file type"):
        read_table(tmp_path / "a.xlsx")


def test_samples_split_errors(tmp_path):
    expr = pd.DataFrame({"g": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    sheet = pd.DataFrame({"sample_type": ["tumor", "normal"]}, index=["a", "b"])
    with pytest.raises(InputError, match="1 samples of the expression table are not in the sample sheet: c"):
        read_samples_split(expr, sheet, "sample_type", "normal")
    with pytest.raises(InputError, match="no column 'kind'"):
        read_samples_split(expr, sheet, "kind", "normal")


def test_empty_table(tmp_path):
    (tmp_path / "e.csv").write_text("sample_id\n")
    with pytest.raises(InputError, match="the table is empty"):
        read_table(tmp_path / "e.csv")


def test_rbridge_parameter_coercion():
    from twinpurify._rbridge import coerce_params

    assert coerce_params({"n_components": 8.0, "hidden_dims": 32.0, "random_state": None}) == {
        "n_components": 8,
        "hidden_dims": (32,),
        "random_state": None,
    }
    assert coerce_params({"n_components": 8.5}) == {"n_components": 8.5}  # left for the schema to refuse
    from twinpurify import TwinPurify

    # every integer parameter of the schema, not a list that new parameters can miss (R passes doubles)
    got = coerce_params({"drop_mixing_dims": 2.0, "n_networks": 3.0, "lambd": 1.0})
    assert got == {"drop_mixing_dims": 2, "n_networks": 3, "lambd": 1.0}
    assert [type(got[k]) for k in ("drop_mixing_dims", "n_networks", "lambd")] == [int, int, float]
    TwinPurify(**got)._validate_params()

    with pytest.raises(ValueError, match="n_components=8.5 is not allowed"):
        TwinPurify(**coerce_params({"n_components": 8.5})).fit(np.ones((5, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="unknown TwinPurify parameter"):
        coerce_params({"n_component": 8})


def test_rds_needs_trusted(tmp_path):
    from twinpurify import InputError
    from twinpurify.io import read_summarized_experiment

    rds = tmp_path / "x.rds"
    rds.write_bytes(b"not even R")
    with pytest.raises(InputError, match="CVE-2024-27322"):
        read_summarized_experiment(rds)
    with pytest.raises(InputError, match="without trusted=True"):
        read_summarized_experiment(str(rds))


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("ragged.csv", "sample,g1,g2\ns1,1,2\ns2,1,2,3,4\n", "cannot read this csv file"),
        ("semicolon.csv", "sample;g1;g2\ns1;1;2\n", "single column"),
        ("tabs.csv", "sample\tg1\tg2\ns1\t1\t2\n", "is it tab-separated"),
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a readable text table|cannot read"),
        ("empty.csv", "", "empty"),
        ("dups.csv", "sample,g1,g1,g2\ns1,1,2,3\ns2,4,5,6\n", "duplicated column \\(gene\\) names g1"),
        ("noindex.csv", "g1,g2,g3\n1.5,2,3\n4.25,5,6\n7.5,1,1\n", "first column holds numbers"),
        ("notparquet.parquet", "sample,g1\ns1,1\n", "cannot read this parquet file"),
    ],
)
def test_malformed_tables_are_named(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError, match=match) as err:
        read_table(p)
    assert str(p) in str(err.value)


def test_duplicated_row_names_say_what_the_rows_are(tmp_path):
    p = tmp_path / "rows.csv"
    p.write_text("name,a,b\nx,1,2\ny,3,4\nx,5,6\n")
    with pytest.raises(InputError, match="duplicated sample names x in the first column"):
        read_table(p)
    with pytest.raises(InputError, match="duplicated gene names x in the first column"):
        read_table(p, genes_as_rows=True)
    # genes in rows named by Entrez ID are names, not a lost index; a first column of values is not
    ids = tmp_path / "entrez.csv"
    ids.write_text("gene,s1,s2\n7157,1,2\n672,3,4\n1956,5,6\n")
    assert list(read_table(ids, genes_as_rows=True).columns) == ["7157", "672", "1956"]
    lost = tmp_path / "lost.csv"
    lost.write_text("s1,s2\n1.5,2\n3.25,4\n5.5,6\n")
    with pytest.raises(InputError, match="first column holds numbers .* not gene names"):
        read_table(lost, genes_as_rows=True)
    counts = tmp_path / "counts.csv"
    counts.write_text("s1,s2\n0,2\n3,4\n0,6\n")
    with pytest.raises(InputError, match="duplicated gene names 0"):
        read_table(counts, genes_as_rows=True)
    dupcols = tmp_path / "dupcols.csv"
    dupcols.write_text("gene,s1,s1\ng1,1,2\n")
    with pytest.raises(InputError, match=r"duplicated column \(sample\) names s1; sample names must be unique"):
        read_table(dupcols, genes_as_rows=True)


@pytest.mark.filterwarnings("ignore:Observation names are not unique")
def test_h5ad_with_repeated_obs_names_is_refused(tmp_path):
    import anndata as ad

    a = ad.AnnData(np.ones((3, 2), dtype=np.float32))
    a.obs_names, a.var_names = ["s1", "s2", "s1"], ["g1", "g2"]
    a.write_h5ad(tmp_path / "rep.h5ad")
    with pytest.raises(InputError, match="rep.h5ad: duplicated sample names s1 in obs_names"):
        read_table(tmp_path / "rep.h5ad")


def test_truncated_and_empty_gzip_are_named(tmp_path):
    import gzip

    good = tmp_path / "t.csv.gz"
    with gzip.open(good, "wt") as fh:
        fh.write("sample,g1,g2\n" + "".join(f"s{i},{i},{i + 1}\n" for i in range(2000)))
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(InputError, match="cut.csv.gz"):
        read_table(cut)
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.csv.gz"):
        read_table(empty)


def test_cli_reports_a_malformed_table_in_one_line(tmp_path, capsys):
    from twinpurify.cli import main

    (tmp_path / "t.csv").write_text("sample,g1,g2\ns1,1,2\ns2,1,2,3,4\n")
    (tmp_path / "n.csv").write_text("sample,g1,g2\nn1,1,2\nn2,3,4\n")
    assert (
        main(
            [
                "fit",
                "--tumor",
                str(tmp_path / "t.csv"),
                "--normal",
                str(tmp_path / "n.csv"),
                "--model",
                str(tmp_path / "m"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "t.csv" in err and "Traceback" not in err


def test_missing_labels_in_a_sample_sheet_are_refused():
    expr = pd.DataFrame({"g1": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    sheet = pd.DataFrame({"sample_type": ["tumor", None, "normal"]}, index=["a", "b", "c"])
    with pytest.raises(InputError, match="the sample sheet: column 'sample_type' is missing for 1 samples \\(b\\)"):
        read_samples_split(expr, sheet, "sample_type", "normal")


def test_a_sample_sheet_without_the_normal_value_or_with_repeated_samples_is_named(tmp_path, capsys):
    """Before: "normal: empty matrix: 0 sample(s)" for a sheet saying "Normal", naming neither the column nor its
    values; a pandas traceback ("Item wrong length 4 instead of 3") past the CLI's error handling for a sheet
    repeating a sample."""
    from twinpurify.cli import main

    expr = pd.DataFrame({"g1": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    sheet = pd.DataFrame({"sample_type": ["Tumor", "Tumor", "Normal"]}, index=["a", "b", "c"])
    with pytest.raises(InputError, match=r"no sample has sample_type == 'normal' \(values present: Tumor, Normal\)"):
        read_samples_split(expr, sheet, "sample_type", "normal")
    assert [len(x) for x in read_samples_split(expr, sheet, "sample_type", "Normal")] == [2, 1]
    twice = pd.DataFrame({"sample_type": ["tumor", "tumor", "normal", "normal"]}, index=["a", "b", "c", "a"])
    with pytest.raises(InputError, match="the sample sheet lists 1 samples more than once: a; give each sample one"):
        read_samples_split(expr, twice, "sample_type", "normal")
    expr.to_csv(tmp_path / "e.csv")
    twice.to_csv(tmp_path / "s.csv")
    args = ["fit", "--input", str(tmp_path / "e.csv"), "--samples", str(tmp_path / "s.csv"), "--quiet"]
    assert main([*args, "--model", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "more than once: a" in err


def test_cli_h5ad_with_missing_labels_is_refused(tmp_path, cohort, capsys):
    pytest.importorskip("anndata")
    from twinpurify.cli import main

    adata = cohort.to_anndata()
    adata.obs["sample_type"] = adata.obs["sample_type"].astype(object)
    adata.obs.iloc[[0], adata.obs.columns.get_loc("sample_type")] = None
    adata.write_h5ad(tmp_path / "c.h5ad")
    assert main(["fit", "--input", str(tmp_path / "c.h5ad"), "--model", str(tmp_path / "m"), "--quiet"]) == 2
    assert "missing for 1 samples (T0001)" in capsys.readouterr().err
