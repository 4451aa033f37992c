"""The MCP server over its two transports, driven by the SDK's own client: stdio, with `kb mcp`
as a subprocess, and streamable HTTP at /mcp of a real `kb serve` on 127.0.0.1 (bench.serve
waits for it to answer /healthz), both on the sample corpus built in a temporary KB_HOME.
tests/test_mcp.py covers each tool in detail, in process."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from bench.serve import HOST, kb_serve
from kb.mcp_server import TOOLS

pytestmark = pytest.mark.slow  # subprocesses and a server: run by CI, skip with -m "not slow"

TOKEN = "t0ken-for-tests"
WITHDRAWN = "code/example-workforce-code-2019/para/2.1"
WARNING = "WARNING: This passage was withdrawn on 30 June 2030; it is not current guidance."


@pytest.fixture(scope="module")
def home(sample_indexes) -> Path:
    """KB_HOME holding corpus/samples indexed (Whoosh)."""
    return sample_indexes.settings("whoosh").home


async def exercise(client: Client, permalink_prefix: str) -> None:
    """List the tools and call each one, as an assistant would."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == set(TOOLS)
    assert tools["search"].input_schema["required"] == ["query"]

    found = await client.call_tool("search", {"query": "new joiners", "limit": 20})
    assert not found.is_error
    withdrawn = [h for h in found.structured_content["results"] if h["id"] == WITHDRAWN]
    assert withdrawn and withdrawn[0]["status"] == "withdrawn"
    assert withdrawn[0]["permalink"] == f"{permalink_prefix}/p/{WITHDRAWN}"
    assert WARNING in found.content[0].text

    passage = await client.call_tool("get_passage", {"id": WITHDRAWN})
    assert not passage.is_error and WARNING in passage.content[0].text

    cited = await client.call_tool("cite", {"citation": "s 2(2) ECA 2031"})
    assert cited.structured_content["id"] == "ukpga/2031/12/section/2/2"

    listed = await client.call_tool("list_documents", {})
    assert listed.structured_content["total"] == 6

    duties = await client.call_tool("find_duties", {"holder": "employer"})
    assert duties.structured_content["results"]

    bad = await client.call_tool("search", {"query": "duty AND"})
    assert bad.is_error and "'AND' at the end needs words after it." in bad.content[0].text
    unknown = await client.call_tool("get_passage", {"id": "nothing/here"})
    assert unknown.is_error and "No passage or provision" in unknown.content[0].text

    resource = await client.read_resource(f"kb://passage/{WITHDRAWN}")
    assert WARNING in resource.contents[0].text


def test_kb_mcp_serves_every_tool_over_stdio(home):
    env = {"KB_HOME": str(home)}
    if os.environ.get("PYTHONPATH"):  # a checkout run without installing it
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    params = StdioServerParameters(command=sys.executable, args=["-m", "kb", "mcp"], env=env)

    async def main():
        async with Client(params) as client:
            await exercise(client, "")

    anyio.run(main)


def http_client(port: int, headers: dict[str, str], mode: str = "auto") -> Client:
    http = httpx2.AsyncClient(headers=headers)
    return Client(streamable_http_client(f"http://{HOST}:{port}/mcp", http_client=http), mode=mode)


def raw_post(port: int, headers: dict[str, str]) -> tuple[int, dict, dict]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/mcp",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"} | headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_kb_serve_serves_every_tool_at_mcp_with_the_token(home, monkeypatch):
    monkeypatch.setenv("KB_MCP_TOKEN", TOKEN)
    monkeypatch.setenv("KB_CORS_ORIGINS", "https://intranet.example")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with kb_serve(home, threads=4) as port:
        status, headers, body = raw_post(port, {})
        assert status == 401 and body["error"]["data"]["error"] == "unauthorized"
        assert "Authorization: Bearer" in body["error"]["message"]
        status, _, body = raw_post(port, {"Authorization": "Bearer wrong"})
        assert status == 401

        status, _, body = raw_post(port, bearer | {"Origin": "http://evil.example"})
        assert status == 403
        status, headers, _ = raw_post(port, bearer | {"Origin": "https://intranet.example"})
        assert (
            status != 403 and headers["Access-Control-Allow-Origin"] == "https://intranet.example"
        )

        async def main():
            for mode in ("auto", "legacy"):  # the 2026 protocol, and the initialize handshake
                async with http_client(port, bearer, mode) as client:
                    await exercise(client, f"http://{HOST}:{port}")

        anyio.run(main)


def test_the_sdk_client_is_refused_without_the_token(home, monkeypatch):
    monkeypatch.setenv("KB_MCP_TOKEN", TOKEN)
    with kb_serve(home, threads=4) as port:

        async def main():
            async with http_client(port, {}) as client:
                await client.list_tools()

        with pytest.raises(BaseException) as refused:
            anyio.run(main)
        assert "needs the header 'Authorization: Bearer <KB_MCP_TOKEN>'" in _messages(refused.value)


def _messages(exc: BaseException) -> str:
    """Every message in an exception group, its causes and contexts."""
    parts = [str(exc)]
    for inner in getattr(exc, "exceptions", ()):
        parts.append(_messages(inner))
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(_messages(linked))
    return " ".join(parts)
