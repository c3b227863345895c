"""E-mail notifications (issue 13), black-box: a real server mailing a local SMTP server (aiosmtpd,
smtp_sink.py) on a loopback port, on the suite's store; every received message is parsed with
Python's own e-mail package and asserted.

- `--email-to reviewers`: request.opened mails the people who can approve (their principal's
  e-mail); one without an e-mail is skipped and the ledger says so;
- `--email-to requester`: the requester hears when their request is approved, and an event that
  concerns nobody on the list (request.opened) is recorded as skipped, never sent;
- fixed addresses get every event subscribed to; a recipient the relay refuses does not cost the
  others their copy;
- `remind_every`: the leader's timer records request.reminder after the period, and the people who
  can still approve are mailed again (the one test that waits a minute: a policy's shortest period);
- STARTTLS required (the default) against a relay that does not offer it: nothing is sent;
- the --smtp-* flags are checked at start.

Waits poll the inbox or the ledger with a deadline; nothing sleeps for what can be awaited.
"""
from __future__ import annotations

import subprocess

import pytest

from smtp_sink import SmtpSink, smtp  # noqa: F401  (a fixture)
from vouch_testlib import Person, make_person, unique, vouch_bin, wait_until

DEADLINE = 60.0
PUBLIC_URL = "https://vouch.example.test"
SENDER = "noreply@vouch.example.test"

POLICIES = """policies:
  - name: mail-production
    target: stage:Production
    match: {models: ["mail-*"]}
    approvals:
      - {from: [{role: mail-reviewer}], count: 1}
  - name: mail-reminders
    target: stage:Production
    match: {models: ["remind-*"]}
    approvals:
      - {from: [{role: remind-reviewer}], count: 2}
    remind_every: 1m
"""


@pytest.fixture(scope="module")
def server_args(smtp: SmtpSink) -> list[str]:
    return ["--default-permission", "EDIT",
            "--webhook-first-retry", "200ms", "--webhook-max-backoff", "1s",
            "--webhook-poll", "100ms",
            "--smtp-url", smtp.url, "--smtp-from", f"vouch <{SENDER}>",
            "--smtp-starttls", "off", "--public-url", PUBLIC_URL]


def with_email(api, person: Person, address: str | None) -> Person:
    if address is not None:
        api.call("PATCH", "/api/v1/users/{name}", path={"name": person.name},
                 json_body={"email": address}, expect=200)
    return person


@pytest.fixture(scope="module")
def people(api) -> dict[str, Person]:
    out = {
        "dana": make_person(api, "dana", "data-scientist", "Dana Q."),
        "eli": make_person(api, "eli", "mail-reviewer", "Eli Q."),
        "fay": make_person(api, "fay", "mail-reviewer", "Fay Q."),  # no e-mail
    }
    with_email(api, out["dana"], f"{out['dana'].name}@example.test")
    with_email(api, out["eli"], f"{out['eli'].name}@example.test")
    api.call("POST", "/api/v1/policies", json_body={"yaml": POLICIES}, expect=200)
    return out


def address(p: Person) -> str:
    return f"{p.name}@example.test"


def subscribe(api, email_to: list[str], events: list[str], model: str) -> int:
    body = {"name": unique("mail"), "format": "email", "email_to": email_to, "events": events,
            "model": model}
    return api.call("POST", "/api/v1/webhooks", json_body=body, expect=201).json()["id"]


def ledger(api, hook: int) -> list[dict]:
    body = api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook},
                    params={"limit": 1000}, expect=200).json()
    return list(reversed(body["deliveries"]))


def finished(api, hook: int, n: int) -> list[dict]:
    """The ledger once it holds `n` deliveries, none of them pending."""
    return wait_until(lambda: (d := ledger(api, hook)) and len(d) == n and
                      all(x["state"] != "pending" for x in d) and d, DEADLINE,
                      what=f"{n} finished deliveries of subscription {hook}")


def model_with_version(api, who: Person, prefix: str) -> str:
    name = unique(prefix)
    api.call("POST", "/api/v1/models", json_body={"name": name}, token=who.token, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
             json_body={"source": "s3://bucket/m.tar.gz"}, token=who.token, expect=201)
    return name


def open_request(api, who: Person, model: str, comment: str) -> int:
    r = api.call("POST", "/api/v1/requests", token=who.token, expect=201,
                 json_body={"model": model, "version": 1, "target": "stage:Production",
                            "comment": comment})
    return r.json()["id"]


def test_reviewers_are_mailed_when_a_request_opens(api, smtp, people):
    dana, eli, fay = people["dana"], people["eli"], people["fay"]
    model = model_with_version(api, dana, "mail")
    hook = subscribe(api, ["reviewers"], ["request.opened"], model)
    request = open_request(api, dana, model, "AUC up <0.02> & fairer")

    mails = smtp.inbox.wait_for(lambda m: any(address(eli) in x.rcpt_tos for x in m), DEADLINE)
    mail = next(m for m in mails if address(eli) in m.rcpt_tos)
    # Envelope and headers: eli only (fay has no e-mail), from the configured sender.
    assert mail.rcpt_tos == [address(eli)]
    assert mail.mail_from == SENDER
    msg = mail.message
    assert msg["From"] == f"vouch <{SENDER}>"
    assert msg["To"] == address(eli)
    assert msg["Subject"] == f"[vouch] Approval requested: {model} version 1 to stage:Production"
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"]
    # Both parts say what, who, why and who can approve, with the link to the request.
    link = f"{PUBLIC_URL}/api/v1/requests/{request}"
    text = mail.part("plain")
    assert f"{dana.name} asks to move version 1 of model {model} to stage:Production" in text
    assert f"Who:  {dana.name}" in text
    assert "Why:  AUC up <0.02> & fairer" in text
    assert f"1 of role:mail-reviewer (1 missing): " in text
    assert eli.name in text and fay.name in text
    assert link in text
    html = mail.part("html")
    assert f'<a href="{link}">' in html
    assert "AUC up &lt;0.02&gt; &amp; fairer" in html
    assert "<0.02>" not in html

    # The ledger: delivered (SMTP 250), the Message-ID is the delivery id, fay said to be skipped.
    [d] = finished(api, hook, 1)
    assert d["state"] == "delivered" and d["last_status"] == 250
    assert msg["Message-ID"] == f"<{d['uid']}@vouch.example.test>"
    assert f"not mailed: {fay.name} (has no e-mail)" in d["last_response"]


def test_the_requester_is_mailed_when_their_request_is_approved(api, smtp, people):
    dana, eli = people["dana"], people["eli"]
    model = model_with_version(api, dana, "mail")
    hook = subscribe(api, ["requester"], ["request.*"], model)
    request = open_request(api, dana, model, "ship it")
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": request}, token=eli.token,
             json_body={"comment": "looks good"}, expect=200)

    def approved(m):
        return [x for x in m if address(dana) in x.rcpt_tos and
                x.message["Subject"].startswith("[vouch] Approved: ") and model in x.message["Subject"]]
    mails = smtp.inbox.wait_for(lambda m: approved(m), DEADLINE)
    [mail] = approved(mails)
    assert mail.rcpt_tos == [address(dana)]
    assert mail.message["Subject"] == f"[vouch] Approved: {model} version 1 to stage:Production"
    text = mail.part("plain")
    assert f"was approved by {eli.name}." in text
    assert f"{PUBLIC_URL}/api/v1/requests/{request}" in text

    # opened, reviewed, approved, applied: the requester hears of the approval and the apply;
    # the opening and the review concern nobody on the list and are skipped, never sent.
    deliveries = finished(api, hook, 4)
    by_action = {d["action"]: d for d in deliveries}
    assert set(by_action) == {"request.opened", "request.reviewed", "request.approved",
                              "request.applied"}
    assert by_action["request.opened"]["state"] == "skipped"
    assert by_action["request.opened"]["last_error"] == "nobody to mail for request.opened"
    assert by_action["request.reviewed"]["state"] == "skipped"
    assert by_action["request.approved"]["state"] == "delivered"
    assert by_action["request.applied"]["state"] == "delivered"
    subjects = [m.message["Subject"] for m in smtp.inbox.to(address(dana)) if model in
                m.message["Subject"]]
    assert sorted(subjects) == sorted([
        f"[vouch] Approved: {model} version 1 to stage:Production",
        f"[vouch] Applied: {model} version 1 to stage:Production"])


def test_fixed_addresses_get_every_event_and_a_refused_one_costs_the_others_nothing(
        api, smtp, people):
    model = model_with_version(api, people["dana"], "fixed")
    ops = f"{unique('ops')}@example.test"
    refused = f"refuse-{unique('x')}@example.test"
    hook = subscribe(api, [ops, refused], ["model_version.created"], model)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://bucket/m2.tar.gz"}, expect=201)

    mails = smtp.inbox.wait_for(lambda m: any(ops in x.rcpt_tos for x in m), DEADLINE)
    [mail] = [m for m in mails if ops in m.rcpt_tos]
    assert mail.rcpt_tos == [ops]
    assert mail.message["To"] == f"{ops}, {refused}"
    assert mail.message["Subject"] == f"[vouch] model_version.created: version 2 of model {model}"
    assert f"{PUBLIC_URL}/api/v1/models/{model}/versions/2" in mail.part("plain")
    [d] = finished(api, hook, 1)
    assert d["state"] == "delivered"
    assert f"refused: {refused}: 550 5.1.1 no such mailbox" in d["last_response"]


def test_a_reminder_mails_those_who_can_still_approve(api, smtp, people):
    dana = people["dana"]
    rex = make_person(api, "rex", "remind-reviewer", "Rex Q.")
    with_email(api, rex, address(rex))
    model = model_with_version(api, dana, "remind")
    hook = subscribe(api, ["reviewers"], ["request.reminder"], model)
    request = open_request(api, dana, model, "please")
    # The policy wants two approvals: after rex's, rex can no longer count; ray, made after the
    # request was opened, can (who can approve is read when reminding).
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": request}, token=rex.token,
             json_body={"comment": "one of two"}, expect=200)
    ray = make_person(api, "ray", "remind-reviewer", "Ray Q.")
    with_email(api, ray, address(ray))

    # remind_every: 1m, on the leader's timer job (every second).
    def reminded(m):
        return [x for x in m if model in x.message["Subject"]]
    mails = smtp.inbox.wait_for(lambda m: reminded(m), 60 + DEADLINE)
    [mail] = reminded(mails)
    assert mail.rcpt_tos == [address(ray)]
    assert mail.message["Subject"] == f"[vouch] Reminder: {model} version 1 to stage:Production " \
                                      "awaits approval"
    text = mail.part("plain")
    assert f"The request {request} to move version 1 of model {model} to stage:Production is " \
           "still waiting for approval." in text
    assert f"2 of role:remind-reviewer (1 missing): {ray.name}" in text
    [event] = api.events(action="request.reminder", model=model)
    assert event["actor"]["name"] == "system"
    assert event["target"]["request"] == request
    [d] = finished(api, hook, 1)
    assert d["state"] == "delivered" and d["event_seq"] == event["seq"]


def test_starttls_required_sends_nothing_to_a_relay_that_does_not_offer_it(
        server_factory, spec, smtp):
    # The sink offers no STARTTLS: with the default (required) nothing is sent in clear text, the
    # attempt fails and the delivery waits for its retry; with --webhook-max-attempts 1 it is dead.
    srv = server_factory(args=["--smtp-url", smtp.url, "--smtp-from", SENDER,
                               "--webhook-max-attempts", "1", "--webhook-poll", "100ms"])
    api = srv.api(spec)
    model = unique("tls")
    api.create_model(model)
    ops = f"{unique('ops')}@example.test"
    hook = subscribe(api, [ops], ["model.updated"], model)
    api.call("PATCH", "/api/v1/models/{name}", path={"name": model},
             json_body={"description": "changed"}, expect=200)
    [d] = finished(api, hook, 1)
    assert d["state"] == "dead"
    assert d.get("last_status") is None
    assert "STARTTLS is required" in d["last_error"], d["last_error"]
    assert smtp.inbox.to(ops) == []


@pytest.mark.parametrize("args,message", [
    (["--smtp-url", "http://mail.example.test"], "--smtp-url"),
    (["--smtp-url", "smtp://user:pw@mail.example.test"], "holds credentials"),
    (["--smtp-url", "smtp://mail.example.test"], "--smtp-url needs --smtp-from"),
    (["--smtp-url", "smtp://mail.example.test", "--smtp-from", "not an address"], "--smtp-from"),
    (["--smtp-from", "a@example.test"], "need --smtp-url"),
])
def test_bad_smtp_flags_stop_the_server_with_a_message(tmp_path, args, message):
    data_dir = tmp_path / "never-made"
    r = subprocess.run([str(vouch_bin()), "serve", "--data-dir", str(data_dir), "--listen",
                        "127.0.0.1:0", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr
    assert ":pw@" not in r.stderr  # a password in the URL is not echoed
    assert not data_dir.exists()
