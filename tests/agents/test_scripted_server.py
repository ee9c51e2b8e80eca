"""The scripted OpenAI server used by these tests behaves like the API it stands in for."""

import httpx

from tests.support.openai_server import hang, text_reply


def post(server, body, headers=None):
    return httpx.post(f"{server.base_url}/chat/completions", json=body, headers=headers, timeout=5)


def test_the_base_url_is_local_and_ends_in_v1(openai_server):
    assert openai_server.base_url.startswith("http://127.0.0.1:")
    assert openai_server.base_url.endswith("/v1")


def test_with_nothing_queued_it_echoes_the_last_user_message(openai_server):
    body = {"model": "m", "messages": [{"role": "user", "content": "ping"}]}

    answer = post(openai_server, body).json()

    assert answer["choices"][0]["message"]["content"] == "ping"
    assert answer["object"] == "chat.completion"


def test_queued_replies_are_used_in_order_and_requests_are_recorded(openai_server):
    openai_server.push(text_reply("one"), lambda request: text_reply(request.json["model"]))
    body = {"model": "m", "messages": []}

    texts = [post(openai_server, body, {"X-Trace": "t"}).json()["choices"][0]["message"]["content"]]
    texts.append(post(openai_server, body).json()["choices"][0]["message"]["content"])

    assert texts == ["one", "m"]
    assert [r.json for r in openai_server.requests] == [body, body]
    assert openai_server.requests[0].headers["x-trace"] == "t"


def test_a_streamed_request_gets_server_sent_events_ending_in_done(openai_server):
    openai_server.push(text_reply("a b", chunks=["a ", "b"]))
    body = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}

    lines = [line for line in post(openai_server, body).text.split("\n\n") if line]

    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: {") for line in lines[:-1])
    assert '"usage"' in lines[-2]


def test_models_are_listed_and_unknown_paths_are_404(openai_server):
    openai_server.models = ["x", "y"]

    listed = httpx.get(f"{openai_server.base_url}/models").json()

    assert [m["id"] for m in listed["data"]] == ["x", "y"]
    assert httpx.get(f"{openai_server.base_url}/nothing").status_code == 404


def test_without_a_default_responder_an_empty_queue_is_a_500(openai_server):
    openai_server.default = None

    assert post(openai_server, {"model": "m", "messages": []}).status_code == 500


def test_reset_forgets_the_script_and_releases_hung_requests(openai_server):
    openai_server.push(hang(30), text_reply("unused"))
    openai_server.reset()

    assert openai_server.pending == 0
    assert openai_server.requests == []
