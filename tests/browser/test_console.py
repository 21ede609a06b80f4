"""The console in a real browser (Debian's Chromium driven by Selenium) against the six services running as
real processes in ``jwt`` mode: every page is what the signed-in user's own token may see.

- a team lead sees the team's day with the planted dwell anomaly and opens a rep's scorecard;
- a rule owner changes the dwell threshold, sees the dry-run diff and submits; a second owner approves and
  activates; the next evaluation uses the new value;
- another owner rejects a version with a reason, and it can never be activated;
- a compliance officer sees screening hits with their explanation (matched by pinyin);
- a rep sees only their own data and no rule screens;
- sign-in, CSRF, cookies and the content security policy hold at the HTTP level.

Screenshots of each step land in ``$COVENANT_TEST_OUTPUT/console`` (default ``.test-output/console``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
from google.protobuf.timestamp_pb2 import Timestamp
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.console.server import build_app
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from tests.support.platform import (
    PASSWORD,
    TEAM,
    Platform,
    Seeded,
    free_port,
    plant_day,
    running_processes,
    seed_branch,
)

pytestmark = pytest.mark.slow
OUT = (
    Path(os.environ.get("COVENANT_TEST_OUTPUT", Path(__file__).resolve().parents[2] / ".test-output"))
    / "console"
)
PACK = "attendance-field-presence"


@dataclass
class Console:
    platform: Platform
    seeded: Seeded
    url: str


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for tool in ("chromium", "chromedriver"):
        assert shutil.which(tool), (
            f"{tool} is missing: apt-get install chromium chromium-driver (.ci/run does)"
        )
    tmp = tmp_path_factory.mktemp("platform")
    # the attendance pack needs one approval here, so the second owner's step is enforced by the service
    with running_processes(tmp, {"COVENANT_RULES_APPROVALS": "attendance-*=1"}) as platform:
        seeded = seed_branch(platform)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(build_app(platform.env), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the console did not start"
        try:
            yield Console(platform, seeded, f"http://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: webdriver.Chrome, name: str) -> None:
    assert driver.save_screenshot(str(OUT / f"{name}.png"))


@pytest.fixture(autouse=True)
def keep_the_last_page(request: pytest.FixtureRequest, browser: webdriver.Chrome) -> Iterator[None]:
    """When a step fails, the page it failed on is kept beside the screenshots."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        (OUT / f"failed-{request.node.name}.html").write_text(browser.page_source)
        browser.save_screenshot(str(OUT / f"failed-{request.node.name}.png"))


def sign_in(driver: webdriver.Chrome, console: Console, username: str, path: str = "/") -> None:
    driver.delete_all_cookies()
    driver.get(console.url + path)
    assert "/login" in driver.current_url
    for field, value in (("username", username), ("password", PASSWORD)):
        box = driver.find_element(By.ID, field)
        box.clear()  # the browser may have filled in the last user
        box.send_keys(value)
    click(driver, driver.find_element(By.ID, "sign-in"))
    assert driver.find_element(By.ID, "who").text == username


def click(driver: webdriver.Chrome, element: WebElement) -> None:
    """Click and wait for the next page (a form post or a link) to replace this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_: object) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # stale, or "node does not belong to the document": a new page
            return True
        return False

    WebDriverWait(driver, 30).until(replaced)


def text(driver: webdriver.Chrome, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def test_a_team_lead_sees_the_day_with_the_planted_anomaly_and_a_scorecard(
    console: Console, browser: webdriver.Chrome
) -> None:
    day = console.seeded.day.isoformat()
    sign_in(browser, console, "lead", f"/team?date={day}")
    assert browser.current_url.endswith(f"/team?date={day}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#team-table tbody tr")
    assert [r.get_attribute("data-employee") for r in rows] == ["R1"]  # R3 is another team's
    anomalies = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#anomalies tr.anomaly")]
    dwell = [a for a in anomalies if "dwell_anomaly" in a]
    assert len(dwell) == 1 and "dwell-anomaly" in dwell[0] and f"{PACK} 2026.11.5" in dwell[0]
    assert browser.find_elements(By.CSS_SELECTOR, ".maps svg.route-map g.flagged")  # the stop, drawn
    shot(browser, "01-lead-team-day")

    click(
        browser, browser.find_element(By.CSS_SELECTOR, 'tr[data-employee="R1"] a[href="/reps/R1/scorecard"]')
    )
    assert float(text(browser, "score")) > 0
    kpis = browser.find_elements(By.CSS_SELECTOR, "#contributions tbody tr")
    assert len(kpis) == 3 and all(k.find_elements(By.TAG_NAME, "td")[-1].text for k in kpis)
    points = browser.find_elements(By.CSS_SELECTOR, "svg.trend g.point")
    assert len(points) == 4  # four scored months, falling
    values = [float(p.find_element(By.CSS_SELECTOR, "text.value").text) for p in points]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    shot(browser, "02-lead-scorecard")

    browser.get(console.url + "/reps/R3/day?date=" + day)  # another team's rep: refused by attendance
    assert "PERMISSION_DENIED" in text(browser, "error-message")


def test_owners_change_the_dwell_threshold_through_approval_and_the_next_evaluation_uses_it(
    console: Console, browser: webdriver.Chrome
) -> None:
    sign_in(browser, console, "owner", "/rules")
    click(browser, browser.find_element(By.LINK_TEXT, PACK))
    click(browser, browser.find_element(By.ID, "edit-pack"))
    field = browser.find_element(By.ID, "p-dwell_minutes-default")
    assert field.get_attribute("value") == "30"
    field.clear()
    field.send_keys("45")
    shot(browser, "03-owner-edit")
    click(browser, browser.find_element(By.ID, "preview-params"))
    assert browser.find_element(By.ID, "valid") and browser.find_element(By.ID, "tests-result")
    summary = text(browser, "dry-run-summary")
    # both planted 45-minute mall stops (R1 and R3) would no longer be anomalies at 45 minutes
    assert re.search(r"2 × raise_dwell_anomaly \(dwell-anomaly\)", summary), summary
    changed = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#diff tr.changed")]
    assert any("default: 30" in r and "default: 45" in r for r in changed)
    shot(browser, "04-owner-preview-dry-run")
    click(browser, browser.find_element(By.ID, "submit"))
    assert "/approval" in browser.current_url
    version = text(browser, "version")
    assert "0/1" in text(browser, "approval-state")
    click(browser, browser.find_element(By.ID, "approve"))  # the author may not approve their own version
    assert "PERMISSION_DENIED" in text(browser, "error-message")
    shot(browser, "05-owner-cannot-approve-own")

    approval = f"/rules/attendance/{PACK}/versions/{version}/approval"
    sign_in(browser, console, "owner2", approval)
    assert re.search(r"2 × raise_dwell_anomaly", text(browser, "dry-run-summary"))
    browser.find_element(By.ID, "approve-comment").send_keys("45 minutes agreed with branch managers")
    click(browser, browser.find_element(By.ID, "approve"))
    assert "1/1" in text(browser, "approval-state") and browser.find_element(By.ID, "ready")
    click(browser, browser.find_element(By.ID, "activate"))
    assert text(browser, "done") and browser.find_element(By.CSS_SELECTOR, "h1 .badge")
    shot(browser, "06-second-owner-approved-and-activated")

    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(console.platform.channel("attendance"))
    admin = [("authorization", f"Bearer {console.seeded.admin_token}")]
    deadline = time.monotonic() + 15
    while (
        rules.ListActiveRulePacks(rpb.ListActiveRulePacksRequest(), metadata=admin).serving_versions.get(PACK)
        != version
    ):
        assert time.monotonic() < deadline, "the new version never reached the replica"
        time.sleep(0.2)
    # R2 stays 40 minutes at the mall: an anomaly at 30 minutes, none at 45
    plant_day(console.platform, admin, "R2", TEAM, console.seeded.day, mall_minutes=40)
    att = attendance_pb2_grpc.AttendanceServiceStub(console.platform.channel("attendance"))
    report = att.GetRouteReport(
        apb.GetRouteReportRequest(employee_id="R2", date=console.seeded.day.isoformat()), metadata=admin
    )
    stops = [i for i in report.items if i.kind == "stop" and not i.client_id and 35 <= i.minutes <= 45]
    assert len(stops) == 1 and not [a for a in report.anomalies if a.kind == "dwell_anomaly"]
    sign_in(browser, console, "lead", f"/reps/R2/day?date={console.seeded.day}")
    assert "dwell_anomaly" not in browser.find_element(By.ID, "main").text
    shot(browser, "07-next-evaluation-uses-45-minutes")


def test_a_second_owner_rejects_a_version_with_a_reason_and_it_can_never_be_activated(
    console: Console, browser: webdriver.Chrome
) -> None:
    source = (
        Path(__file__).resolve().parents[2] / "rules" / "attendance" / "field-presence.yaml"
    ).read_text()
    candidate = re.sub(r'^version: ".*"$', 'version: "2026.11.77"', source, count=1, flags=re.M).replace(
        "    default: 150\n", "    default: 900\n", 1
    )
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(console.platform.channel("attendance"))
    admin = [("authorization", f"Bearer {console.seeded.admin_token}")]
    rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=candidate), metadata=admin)
    sign_in(browser, console, "owner2", f"/rules/attendance/{PACK}/versions/2026.11.77/approval")
    browser.find_element(By.ID, "reject-reason").send_keys(
        "a 900 m visit radius verifies visits from the street"
    )
    click(browser, browser.find_element(By.ID, "reject"))
    assert text(browser, "done") and "900 m visit radius" in text(browser, "rejected")
    assert not browser.find_elements(By.ID, "approve") and not browser.find_elements(By.ID, "activate")
    shot(browser, "07b-second-owner-rejected")
    with pytest.raises(Exception) as refused:  # the service refuses, not only the page
        rules.ActivateRulePackVersion(
            rpb.ActivateRulePackVersionRequest(name=f"packs/{PACK}/versions/2026.11.77"), metadata=admin
        )
    assert "rejected by" in str(refused.value)


def test_a_compliance_officer_works_the_case_with_the_promise_highlighted(
    console: Console, browser: webdriver.Chrome
) -> None:
    sign_in(browser, console, "officer", "/cases?state=OPEN")
    rows = browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
    mine = [r for r in rows if "R1" in r.text]
    assert mine, [r.text for r in rows]
    click(browser, mine[0].find_element(By.TAG_NAME, "a"))
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#evidence blockquote mark")]
    assert marks == ["保本保息"]
    quote = browser.find_element(By.CSS_SELECTOR, "#evidence blockquote").text
    assert "13812345678" not in quote and "这款理财您放心" in quote  # context, phone starred
    shot(browser, "08-officer-case-evidence")
    browser.find_element(By.CSS_SELECTOR, '#to-state option[value="ACKNOWLEDGED"]').click()
    owner = browser.find_element(By.ID, "owner")
    owner.clear()
    owner.send_keys("K1")
    browser.find_element(By.ID, "comment").send_keys("listening to the whole call")
    click(browser, browser.find_element(By.ID, "transition"))
    assert text(browser, "case-state") == "ACKNOWLEDGED"
    assert "listening to the whole call" in browser.find_element(By.ID, "main").text
    shot(browser, "09-officer-acknowledged")


def test_a_compliance_officer_sees_screening_hits_with_their_explanation(
    console: Console, browser: webdriver.Chrome
) -> None:
    admin = [("authorization", f"Bearer {console.seeded.admin_token}")]
    compliance = compliance_pb2_grpc.ComplianceServiceStub(console.platform.channel("compliance"))
    compliance.LoadWatchlist(
        kpb.LoadWatchlistRequest(
            entries=[kpb.WatchlistEntry(id="s-1", list_name="sanctions", name="深圳市恒信达投资有限公司")]
        ),
        metadata=admin,
    )
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    compliance.RecordClientActivity(
        kpb.RecordClientActivityRequest(
            employee_id="R1",
            org_unit=TEAM,
            client_id="K-77",
            client_name="深圳市恒信大投资有限公司",  # one character off, the same sound
            kind="contact",
            activity_id="console-screening-1",
            occurred_at=at,
        ),
        metadata=admin,
    )
    sign_in(browser, console, "officer")
    click(browser, browser.find_element(By.CSS_SELECTOR, "header nav a[href='/screening']"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#screening-hits tbody tr")
    (row,) = [r for r in rows if "深圳市恒信大投资有限公司" in r.text]
    assert "深圳市恒信达投资有限公司" in row.text and "R1" in row.text
    matched = row.find_element(By.CSS_SELECTOR, ".matched-by").text
    assert matched in ("pinyin (same sound)", "拼音（同音）"), matched
    assert re.search(
        r"(pinyin similarity|拼音相似度): 100", row.find_element(By.CSS_SELECTOR, ".explanation").text
    )
    shot(browser, "09b-officer-screening-hits")


def test_a_rep_sees_only_their_own_data_and_no_rule_screens(
    console: Console, browser: webdriver.Chrome
) -> None:
    sign_in(browser, console, "rep")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert console.url + "/cases" in links and console.url + "/rules" not in links
    assert console.url + "/screening" not in links
    browser.get(console.url + "/team")
    assert re.search(r"/reps/R1/day\?date=", browser.current_url)  # a rep's team page is their own day
    shot(browser, "10-rep-own-day")
    browser.get(console.url + "/rules")
    assert "rules.packs.read" in text(browser, "error-message")
    browser.get(console.url + f"/reps/R2/day?date={console.seeded.day}")
    assert "PERMISSION_DENIED" in text(browser, "error-message")
    browser.get(console.url + "/reps/R2/scorecard")
    assert "PERMISSION_DENIED" in text(browser, "error-message")
    shot(browser, "11-rep-denied-teammate")
    # the language is switchable on any page: Chinese, then back to English
    for lang, sign_out in (("zh-CN", "退出"), ("en", "Sign out")):
        browser.get(console.url + "/")
        browser.find_element(By.CSS_SELECTOR, f'#lang option[value="{lang}"]').click()
        click(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/lang'] button"))
        assert text(browser, "sign-out") == sign_out
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang


def test_sign_in_csrf_cookies_and_content_policy_hold_over_http(console: Console) -> None:
    with httpx.Client(base_url=console.url, follow_redirects=False) as client:
        r = client.get("/team")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fteam")
        r = client.get("/login")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        form = {"username": "lead", "password": PASSWORD, "next": "/"}
        assert client.post("/login", data=form).status_code == 403  # no CSRF token
        assert client.post("/login", data={**form, "csrf": csrf + "x"}).status_code == 403
        wrong = client.post("/login", data={**form, "password": "nope", "csrf": csrf})
        unknown = client.post("/login", data={**form, "username": "nobody", "password": "nope", "csrf": csrf})
        assert wrong.status_code == unknown.status_code == 401 and "login-error" in wrong.text
        r = client.post("/login", data={**form, "csrf": csrf, "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"  # never an open redirect
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("covenant_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "eyJ" not in cookie  # token sealed
        page = client.get("/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        # a form posted without the session's CSRF token changes nothing
        assert client.post("/cases/1/transition", data={"state": "RESOLVED"}).status_code == 403
        for action in ("activate", "reject"):
            r = client.post(
                f"/rules/attendance/{PACK}/versions/2026.11.5/{action}",
                data={"csrf": "forged", "reason": "x"},
            )
            assert r.status_code == 403
        v = client.post("/rules/attendance/validate", content="id: x\n", headers={"x-csrf-token": "forged"})
        assert v.status_code == 403
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        v = client.post("/rules/attendance/validate", content="id: [", headers={"x-csrf-token": token})
        assert v.status_code == 200 and json.loads(v.text)["valid"] is False
