"""The REST API in-process: answers, explanations, limits and errors (never a 500)."""

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommenders.forecast.forecaster import Forecaster
from recommenders.service.app import Limits, create_app


@pytest.fixture(scope="module")
def forecaster(text_model):
    return Forecaster.load(None, text_model)


@pytest.fixture(scope="module")
def client(forecaster):
    return TestClient(create_app(forecaster, Limits(max_body_bytes=20_000, max_text_chars=5_000)))


def test_forecast_from_ids_ranks_explains_and_reports_what_it_ignored(client, forecaster):
    answer = client.post(
        "/api/forecast", json={"techniques": ["t1566.001 ", "T1059.001", "T9999"], "k": 5}
    ).json()
    assert [o["technique"] for o in answer["observed"]] == ["T1566.001", "T1059.001"]
    assert "T9999" in answer["ignored"] and answer["explanation"] == "exact"
    assert len(answer["forecast"]) == 5 and answer["forecast"][0]["rank"] == 1
    scores = [p["score"] for p in answer["forecast"]]
    assert scores == sorted(scores, reverse=True)
    # EASE: the shares are exact, so those shown sum to at most the score (the rest are ≤ 0)
    top = answer["forecast"][0]
    assert top["because"] and sum(b["contribution"] for b in top["because"]) >= top["score"] - 1e-6


def test_a_technique_no_report_names_comes_labelled_with_what_it_is_like(client):
    seen = ["T1578", "T1578.001", "T1578.002", "T1578.003"]
    answer = client.post("/api/forecast", json={"techniques": seen, "k": 100}).json()
    unseen = [p for p in answer["forecast"] if p["unseen"]]
    assert unseen[0]["technique"] == "T1578.004" and unseen[0]["name"] == "Revert Cloud Instance"
    assert unseen[0]["like"] and all(like["name"] for like in unseen[0]["like"])
    assert {like["technique"] for like in unseen[0]["like"]} <= set(seen)
    assert not any(p["like"] for p in answer["forecast"] if not p["unseen"])


def test_the_same_forecast_as_the_cli_library(client, forecaster):
    answer = client.post(
        "/api/forecast", json={"techniques": ["T1078", "T1021.001"], "k": 10}
    ).json()
    direct = forecaster.from_ids(["T1078", "T1021.001"], 10)
    assert [p["technique"] for p in answer["forecast"]] == [p.technique for p in direct.predictions]


def test_text_finds_techniques_with_evidence_and_iocs_then_forecasts(client):
    text = "The actor ran mimikatz against lsass from 203.0.113[.]5. Then schtasks kept access."
    answer = client.post("/api/forecast/text", json={"text": text, "k": 5}).json()
    found = {h["technique"] for h in answer["found"]["techniques"]}
    assert found == {"T1003.001", "T1053.005"}
    assert {"kind": "ipv4", "value": "203.0.113.5"} in answer["found"]["iocs"]
    assert answer["forecast"] and all(p["technique"] not in found for p in answer["forecast"])


def test_flow_in_forecast_and_suggestions_out(client, data_dir):
    body = (data_dir / "attack-flow" / "Alpha Intrusion.afb").read_bytes()
    answer = client.post("/api/forecast/flow?k=3&name=Alpha%20Intrusion.afb", content=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["flow"]["name"] and len(answer.json()["forecast"]) == 3
    bundle = client.post("/api/forecast/flow/suggestions?k=3&name=x/../Alpha.afb", content=body)
    assert 'filename="Alpha-suggested.json"' in bundle.headers["content-disposition"]
    kinds = [o["type"] for o in bundle.json()["objects"]]
    assert kinds.count("attack-operator") == 1 and kinds[0] == "attack-flow"


def test_navigator_layer_download(client):
    response = client.post("/api/navigator", json={"techniques": ["T1059.001"], "k": 4})
    assert "attachment" in response.headers["content-disposition"]
    layer = response.json()
    assert layer["domain"] == "enterprise-attack" and len(layer["techniques"]) == 5


def test_lookup_search_model_and_matrix(client):
    assert client.get("/api/techniques/t1059.001").json()["name"] == "PowerShell"
    assert client.get("/api/techniques/T0000").status_code == 404
    hits = client.get("/api/techniques?q=powershell").json()
    assert hits[0]["id"] == "T1059.001"
    info = client.get("/api/model").json()
    assert info["model"]["family"] == "ease" and info["model"]["techniques"] == 580
    assert info["model"]["unseen_techniques"] == 57  # 580 + 57: every active one of v15.0
    matrix = client.get("/api/matrix").json()
    assert (
        matrix[0]["tactic"] == "reconnaissance" and sum(len(c["techniques"]) for c in matrix) >= 580
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [
        ("post", "/api/forecast", {"json": {"techniques": []}}, 422, "at least 1"),
        ("post", "/api/forecast", {"json": {"techniques": "T1059"}}, 422, "valid list"),
        ("post", "/api/forecast", {"json": {"techniques": ["T1059"], "k": 0}}, 422, "k:"),
        ("post", "/api/forecast", {"json": {"techniques": ["T1059"], "k": True}}, 422, "k:"),
        ("post", "/api/forecast", {"json": {"techniques": [" "]}}, 400, "an empty ID"),
        ("post", "/api/forecast/flow", {"content": b"[" * 100_000 + b"]" * 100_000}, 413, "bytes"),
        ("post", "/api/forecast", {"json": {"techniques": ["T9999"]}}, 400, "no usable technique"),
        (
            "post",
            "/api/forecast",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            422,
            "JSON",
        ),
        ("post", "/api/forecast", {"content": b"x" * 30_000}, 413, "over 20,000 bytes"),
        ("post", "/api/forecast/text", {"json": {"text": "x" * 6_000}}, 422, "text"),
        ("post", "/api/forecast/text", {"json": {"text": " \n "}}, 400, "white space"),
        ("post", "/api/forecast/flow", {"content": b"not json"}, 400, "not JSON"),
        ("post", "/api/forecast/flow", {"content": b'{"type": "bundle"}'}, 400, "objects"),
        ("post", "/api/forecast/flow", {"content": b"[1, 2]"}, 400, "neither"),
        ("get", "/api/techniques?q=" + "a" * 200, {}, 422, "q:"),
        ("get", "/api/nothing", {}, 404, "Not Found"),
    ],
)
def test_bad_requests_are_4xx_with_one_readable_error(client, method, path, kwargs, status, words):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error and "Traceback" not in error


def test_a_streamed_body_over_the_limit_is_refused(client):
    def chunks():
        for _ in range(30):
            yield b'{"techniques": ["T1059"' + b" " * 1000 + b"]}"

    assert client.post("/api/forecast", content=chunks()).status_code == 413


def test_an_unexpected_failure_is_a_500_that_reveals_nothing(forecaster, monkeypatch):
    client = TestClient(create_app(forecaster), raise_server_exceptions=False)
    monkeypatch.setattr(forecaster, "from_ids", lambda *a, **k: 1 / 0)
    response = client.post("/api/forecast", json={"techniques": ["T1059"]})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (logged on the server)"}


def test_without_a_text_model_text_is_503_and_the_rest_works():
    client = TestClient(create_app(replace(Forecaster.load(), text_mapper=None)))
    response = client.post("/api/forecast/text", json={"text": "mimikatz"})
    assert response.status_code == 503 and "--text-model" in response.json()["error"]
    assert client.post("/api/forecast", json={"techniques": ["T1059"]}).status_code == 200


def test_the_page_and_its_assets_ship_in_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    script = Path(__file__).parents[3] / "recommenders" / "service" / "static" / "app.js"
    assert "innerHTML" not in script.read_text()  # every value goes in as text, never markup


def test_a_deeply_nested_flow_is_a_400_not_a_500(forecaster):
    client = TestClient(create_app(forecaster), raise_server_exceptions=False)
    response = client.post("/api/forecast/flow", content=b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


def test_a_flow_of_too_many_actions_is_refused_before_its_graph_is_walked(client):
    import json
    import time

    actions = [
        {
            "type": "attack-action",
            "id": f"attack-action--{i}",
            "technique_id": "T1059",
            "effect_refs": ["attack-operator--1"],
        }
        for i in range(1_500)
    ]
    star = {
        "type": "attack-operator",
        "id": "attack-operator--1",
        "effect_refs": [a["id"] for a in actions],
    }
    body = json.dumps({"type": "bundle", "objects": [*actions, star]}).encode()
    big = TestClient(create_app(Forecaster.load(), Limits(max_body_bytes=5_000_000)))
    start = time.perf_counter()
    response = big.post("/api/forecast/flow", content=body)
    assert response.status_code == 400 and "1,500 actions" in response.json()["error"]
    assert time.perf_counter() - start < 2


def test_a_download_name_is_ascii_whatever_the_flow_was_called(client, data_dir):
    body = (data_dir / "attack-flow" / "Alpha Intrusion.afb").read_bytes()
    response = client.post(
        "/api/forecast/flow/suggestions?k=2&name=%E6%94%BB%E6%92%83%C3%9Cber.afb", content=body
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="ber-suggested.json"'


def test_a_forecast_without_evidence_says_so(client):
    answer = client.post("/api/forecast", json={"techniques": ["T1562.010"], "k": 3}).json()
    assert "no evidence" in answer["note"]
    assert (
        client.post("/api/forecast", json={"techniques": ["T1059.001"]}).json().get("note") is None
    )


def test_with_the_users_release_every_name_in_the_answer_is_theirs(real_data_dir):
    bundle = real_data_dir / "attack" / "enterprise-attack-18.1.json.gz"
    client = TestClient(create_app(Forecaster.load(attack=bundle)))
    answer = client.post(
        "/api/forecast", json={"techniques": ["T1574.002", "T1059.001", "T1666"], "k": 5}
    ).json()
    assert answer["observed"][0] == {"technique": "T1574.001", "name": "DLL"}  # v18.1's name
    assert "new in ATT&CK v18.1" in answer["ignored"]["T1666"]
    reasons = [b for p in answer["forecast"] for b in p["because"] if b["technique"] == "T1574.001"]
    assert reasons and all(b["name"] == "DLL" for b in reasons)
