"""The preview page, parsed with the stdlib HTML parser, and the `paperbot preview` command."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.config import ChannelConfig, Config, Platform
from bot.digest.model import Digest
from bot.digest.parser import load_digest, parse_digest
from bot.i18n import Translator, load_catalog
from bot.preview import (
    Count,
    discord_markdown_html,
    message_html,
    render_preview,
    slack_mrkdwn_html,
)
from bot.render.discord import render_discord_paper
from bot.render.limits import (
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
    SLACK_HEADER_MAX,
    SLACK_SECTION_TEXT_MAX,
)
from bot.render.slack import render_slack_paper

from .conftest import EXAMPLE_DIGEST, REFERENCE_IDS, REPO_ROOT

# Hang guard for one CLI run; rendering the reference digest takes about a second.
RUN_TIMEOUT_SECONDS = 60

_VOID_TAGS = frozenset({"meta", "hr", "br", "img", "link", "input"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    # Child elements and text, in document order.
    content: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for child in self.content:
            if isinstance(child, Node):
                yield from child.walk()

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.content)

    def find_all(self, tag: str | None = None, css: str | None = None) -> list[Node]:
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag) and (css is None or css in node.classes)
        ]

    def hrefs(self) -> set[str]:
        return {node.attrs["href"] for node in self.find_all("a") if "href" in node.attrs}


class TreeBuilder(HTMLParser):
    """Builds a Node tree; raises on a closing tag that does not match the open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].content.append(node)
        if tag not in _VOID_TAGS:
            self.stack.append(node)

    def handle_endtag(self, tag):
        open_tag = self.stack[-1].tag
        if open_tag != tag:
            raise AssertionError(f"</{tag}> closes <{open_tag}>")
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].content.append(data)


def parse_html(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert [node.tag for node in builder.stack] == ["#document"], "unclosed elements"
    return builder.root


def make_config(*channels: ChannelConfig, locale: str = "en") -> Config:
    return Config(path=Path("preview-test.yaml"), locale=locale, channels=channels)


SLACK_CHANNEL = ChannelConfig("papers-slack", Platform.SLACK, "C0123456789")
DISCORD_CHANNEL = ChannelConfig("papers-discord", Platform.DISCORD, "123456789012345678")


@pytest.fixture(scope="module")
def reference() -> Digest:
    return load_digest(EXAMPLE_DIGEST)


@pytest.fixture(scope="module")
def reference_page(reference: Digest) -> Node:
    return parse_html(render_preview(reference, make_config(SLACK_CHANNEL, DISCORD_CHANNEL)))


def paper_section(page: Node, number: int) -> Node:
    sections = [
        node for node in page.find_all("section") if node.attrs.get("id") == f"paper-{number}"
    ]
    assert len(sections) == 1, f"paper-{number}: {len(sections)} sections"
    return sections[0]


def cell(section: Node, platform: str) -> Node:
    cells = [node for node in section.find_all("div", "cell") if platform in node.classes]
    assert len(cells) == 1
    return cells[0]


def counts(node: Node, part: str) -> list[Node]:
    return [item for item in node.find_all("li", "count") if item.attrs["data-part"] == part]


def digest_from(markdown: str) -> Digest:
    return parse_digest(textwrap.dedent(markdown).lstrip(), "2025-09-23-test.md")


# Reference digest -----------------------------------------------------------------------


def test_reference_has_eleven_paper_sections(reference_page: Node):
    numbers = [node.attrs["data-paper"] for node in reference_page.find_all("section", "post")]

    assert numbers == ["0"] + [str(number) for number in range(1, 12)]


@pytest.mark.parametrize("number", range(1, 12))
def test_reference_paper_links_on_both_platforms(reference_page: Node, number: int):
    arxiv_id = REFERENCE_IDS[number - 1]
    section = paper_section(reference_page, number)
    expected = {
        f"https://arxiv.org/abs/{arxiv_id}",
        f"https://arxiv.org/pdf/{arxiv_id}",
        f"https://www.alphaxiv.org/ko/overview/{arxiv_id}",
    }

    assert expected <= cell(section, "slack").hrefs()
    assert expected <= cell(section, "discord").hrefs()


def test_reference_titles_shown(reference_page: Node, reference: Digest):
    for paper in reference.papers:
        section = paper_section(reference_page, paper.number)
        slack_header = cell(section, "slack").find_all("div", "sk-header")[0].text()
        discord_title = cell(section, "discord").find_all("div", "dc-title")[0]

        assert slack_header == f"{paper.number}. {paper.title}"
        assert paper.title in discord_title.text()
        assert discord_title.hrefs() == {paper.abs_url}


def test_reference_has_no_problems(reference_page: Node):
    found = reference_page.find_all(css="found")
    none = reference_page.find_all(css="none")

    assert found == []
    assert len(none) == 2 * 12


def test_slack_counts_match_payload(reference_page: Node, reference: Digest):
    paper = reference.papers[0]
    payload = render_slack_paper(paper, reference, Translator("en"), channel="C0123456789")
    sections = [block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"]
    section_counts = counts(cell(paper_section(reference_page, 1), "slack"), "slack_section")

    assert [int(item.attrs["data-count"]) for item in section_counts] == [
        len(text) for text in sections
    ]
    assert {item.attrs["data-limit"] for item in section_counts} == {str(SLACK_SECTION_TEXT_MAX)}
    header = counts(cell(paper_section(reference_page, 1), "slack"), "slack_header")[0]
    assert header.attrs["data-limit"] == str(SLACK_HEADER_MAX)
    assert header.text() == f"header {len(paper.title) + 3} / {SLACK_HEADER_MAX} characters"


def test_discord_counts_match_payload(reference_page: Node, reference: Digest):
    paper = reference.papers[1]
    embed = render_discord_paper(paper, reference, Translator("en"))["embeds"][0]
    discord = cell(paper_section(reference_page, 2), "discord")
    expected_total = (
        len(embed["title"])
        + len(embed.get("description", ""))
        + len(embed["footer"]["text"])
        + sum(len(item["name"]) + len(item["value"]) for item in embed.get("fields", []))
    )

    title = counts(discord, "discord_title")[0]
    total = counts(discord, "discord_total")[0]
    assert title.attrs["data-count"] == str(len(embed["title"]))
    assert title.attrs["data-limit"] == str(DISCORD_EMBED_TITLE_MAX)
    assert total.attrs["data-count"] == str(expected_total)
    assert total.text() == f"embed total {expected_total} / {DISCORD_EMBEDS_TOTAL_MAX} characters"
    assert len(counts(discord, "discord_field_value")) == len(embed["fields"])


def test_reference_page_is_self_contained(reference_page: Node):
    hrefs = reference_page.hrefs()
    tags = {node.tag for node in reference_page.walk()}
    policy = [
        node.attrs["content"]
        for node in reference_page.find_all("meta")
        if node.attrs.get("http-equiv") == "Content-Security-Policy"
    ]

    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "form"}
    assert all(href.startswith(("https://", "#")) for href in hrefs), hrefs
    assert all("src" not in node.attrs for node in reference_page.walk())
    assert policy and policy[0].startswith("default-src 'none'")


def test_contents_links_every_paper(reference_page: Node):
    contents = reference_page.find_all("ul", "contents")[0]

    assert contents.hrefs() == {f"#paper-{number}" for number in range(1, 12)}


def test_contents_numbers_each_paper_once(reference_page: Node, reference: Digest):
    [contents] = reference_page.find_all(css="contents")
    entries = [item.text() for item in contents.find_all("li")]

    # An <ol> would add its own "1." before the digest's number, showing "1. 1. Title".
    assert contents.tag == "ul"
    assert entries == [f"{paper.number}. {paper.title}" for paper in reference.papers]
    page = render_preview(reference, make_config(SLACK_CHANNEL))
    assert re.search(r"\.contents \{[^}]*list-style: none", page), "a <ul> draws bullets"


# Limits and highlighting ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "level"),
    [(0, "ok"), (2700, "ok"), (2701, "near"), (3000, "near"), (3001, "over")],
)
def test_count_level_thresholds(count: int, level: str):
    assert Count("slack_section", count, 3000).level == level


def test_long_section_highlighted():
    # 2,800 of 3,000 characters is over 90% of the Slack section limit, and fits one block.
    digest = digest_from(
        f"""
        # 1. [Long](https://arxiv.org/abs/2509.17765)

        ## Method

        {"가" * 2790}
        """
    )
    page = parse_html(render_preview(digest, make_config(SLACK_CHANNEL, DISCORD_CHANNEL)))
    slack = cell(paper_section(page, 1), "slack")
    method = counts(slack, "slack_section")[0]

    assert int(method.attrs["data-count"]) > SLACK_SECTION_TEXT_MAX * 0.9
    assert "near" in method.classes
    assert all("ok" in item.classes for item in counts(slack, "slack_header"))


def test_slack_payload_over_limit_listed():
    payload = {
        "channel": "C1",
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}},
            {"type": "image", "image_url": "https://example.invalid/a.png", "alt_text": "a"},
        ],
    }
    drawn = parse_html(message_html(Platform.SLACK, payload, Translator("en")))
    header = counts(drawn, "slack_header")[0]
    problems = drawn.find_all("div", "found")[0].text()

    assert "over" in header.classes
    assert "blocks[0].text.text: 151 characters, maximum 150" in problems
    assert "Block of type image is not drawn" in drawn.find_all("div", "unsupported")[0].text()
    assert drawn.find_all("img") == []


def test_discord_payload_without_allowed_mentions_listed():
    payload = {"content": "hi @everyone", "embeds": [{"title": "t", "description": "d"}]}
    drawn = parse_html(message_html(Platform.DISCORD, payload, Translator("en")))
    problems = drawn.find_all("div", "found")[0].text()

    assert "allowed_mentions" in problems
    assert "live mention '@everyone'" in problems
    assert counts(drawn, "discord_content")[0].attrs["data-count"] == "12"


def test_discord_total_spans_all_embeds():
    # Each embed alone is within 6000 characters, but the message total of 7000 is not.
    embeds = [{"title": "t", "description": "d" * 3499} for _ in range(2)]
    payload = {"embeds": embeds, "allowed_mentions": {"parse": []}}
    drawn = parse_html(message_html(Platform.DISCORD, payload, Translator("en")))
    totals = counts(drawn, "discord_total")

    assert len(totals) == 1
    assert totals[0].attrs["data-count"] == "7000"
    assert "over" in totals[0].classes
    assert "7000 characters of text in all embeds" in drawn.find_all("div", "found")[0].text()


# Escaping -------------------------------------------------------------------------------

HOSTILE_DIGEST = """
    ---
    title: "<script>alert('t')</script> & <b>Daily</b>"
    ---

    # 1. [<think> & <Parallel> "quoted" <img src=x onerror=alert(1)>](https://arxiv.org/abs/2509.17765)

    ## Introduction

    - Goal: reason with <think> tokens & <Parallel>, <Path>, <Summary></Summary>.
    - Motivation: <!here> <@U123> @everyone <script>alert(2)</script>

    ## Method

    [click](javascript:alert(3)) and <a href="javascript:alert(4)">x</a> and `<code>&amp;`
    """


@pytest.fixture(scope="module")
def hostile_page() -> tuple[str, Node]:
    digest = digest_from(HOSTILE_DIGEST)
    page = render_preview(digest, make_config(SLACK_CHANNEL, DISCORD_CHANNEL))
    return page, parse_html(page)


def test_digest_markup_never_becomes_elements(hostile_page: tuple[str, Node]):
    _, page = hostile_page
    tags = {node.tag for node in page.walk()}

    # `b` is left out: the page draws the Introduction labels in bold.
    assert not tags & {"script", "think", "parallel", "path", "summary", "img", "iframe"}
    assert [node.text() for node in page.find_all("h1")[0].find_all("b")] == []


def test_digest_markup_stays_visible_text(hostile_page: tuple[str, Node]):
    _, page = hostile_page
    section = paper_section(page, 1)
    text = section.text()

    assert "<think>" in text
    assert "<Parallel>" in text
    assert "<script>alert(2)</script>" in text
    assert " & " in text
    assert "<script>alert('t')</script> & <b>Daily</b>" in page.find_all("h1")[0].text()


def test_digest_attributes_are_inert(hostile_page: tuple[str, Node]):
    raw, page = hostile_page
    attributes = [name for node in page.walk() for name in node.attrs]

    assert not [name for name in attributes if name.startswith("on")]
    assert all(href.startswith(("https://", "#")) for href in page.hrefs())
    assert "javascript:" not in " ".join(node.attrs.get("href", "") for node in page.walk())
    assert "<think" not in raw
    assert "<script" not in raw


# Platform markup to HTML ----------------------------------------------------------------


def test_slack_mrkdwn_styles_and_links():
    drawn = parse_html(
        slack_mrkdwn_html(
            "*bold* _italic_ ~gone~ `a&amp;b` <https://example.org/x?a=1&amp;b=2|label &amp; more>"
        )
    )

    assert drawn.find_all("b")[0].text() == "bold"
    assert drawn.find_all("i")[0].text() == "italic"
    assert drawn.find_all("s")[0].text() == "gone"
    assert drawn.find_all("code")[0].text() == "a&b"
    link = drawn.find_all("a")[0]
    assert link.attrs["href"] == "https://example.org/x?a=1&b=2"
    assert link.text() == "label & more"


def test_slack_mrkdwn_literal_stars_inside_words():
    drawn = parse_html(slack_mrkdwn_html("2*3*4 and snake_case_name"))

    assert drawn.find_all("b") == []
    assert drawn.find_all("i") == []
    assert drawn.text() == "2*3*4 and snake_case_name"


def test_slack_mrkdwn_mentions_and_quotes():
    drawn = parse_html(slack_mrkdwn_html("&gt; quoted\n<!here> <#C1|general> <think>"))

    assert drawn.find_all("span", "quote")[0].text() == "quoted"
    assert [node.text() for node in drawn.find_all("span", "mention")] == ["@here", "#general"]
    assert "<think>" in drawn.text()
    assert drawn.find_all("a") == []


def test_slack_mrkdwn_code_block():
    drawn = parse_html(slack_mrkdwn_html("before\n```\nx &lt; 1\n```\nafter"))

    assert drawn.find_all("pre")[0].text() == "x < 1"
    assert "before" in drawn.text()
    assert "after" in drawn.text()


def test_discord_markdown_styles_links_and_escapes():
    drawn = parse_html(
        discord_markdown_html(
            r"**bold** *it* __under__ ~~gone~~ `c\*` [lab\[el](https://example.org/a) \*lit\* \<x>"
        )
    )

    assert drawn.find_all("b")[0].text() == "bold"
    assert drawn.find_all("i")[0].text() == "it"
    assert drawn.find_all("u")[0].text() == "under"
    assert drawn.find_all("s")[0].text() == "gone"
    assert drawn.find_all("code")[0].text() == r"c\*"
    link = drawn.find_all("a")[0]
    assert link.attrs["href"] == "https://example.org/a"
    assert link.text() == "lab[el"
    assert drawn.text().endswith(" *lit* <x>")


def test_discord_markdown_rejects_script_urls():
    drawn = parse_html(discord_markdown_html("[x](javascript:alert(1)) [y](data:text/html,z)"))

    assert drawn.find_all("a") == []


# Channels and locales -------------------------------------------------------------------


def test_missing_platform_uses_stand_in(reference: Digest):
    page = parse_html(render_preview(reference, make_config(SLACK_CHANNEL)))
    headings = [node.text() for node in page.find_all("div", "column-heading")]

    assert "papers-slack" in headings[0]
    assert "no channel of this platform in the config" in headings[1]
    assert "https://arxiv.org/abs/2509.17765" in cell(paper_section(page, 1), "discord").hrefs()


def test_header_row_follows_channel_setting(reference: Digest):
    slack_only_header = make_config(
        SLACK_CHANNEL, ChannelConfig("quiet", Platform.DISCORD, "1", header=False)
    )
    page = parse_html(render_preview(reference, slack_only_header))
    header_row = [node for node in page.find_all("section") if node.attrs["id"] == "digest-header"]

    assert len(header_row) == 1
    assert cell(header_row[0], "discord").find_all("p", "not-sent")
    assert cell(header_row[0], "slack").find_all("div", "sk-header")


def test_no_header_row_without_headers(reference: Digest):
    config = make_config(
        ChannelConfig("s", Platform.SLACK, "C1", header=False),
        ChannelConfig("d", Platform.DISCORD, "1", header=False),
    )
    page = parse_html(render_preview(reference, config))

    assert "digest-header" not in {node.attrs.get("id") for node in page.find_all("section")}


def test_digest_without_papers():
    digest = digest_from(
        """
        ---
        title: Empty day
        ---
        """
    )
    page = parse_html(render_preview(digest, make_config(SLACK_CHANNEL, DISCORD_CHANNEL)))

    assert page.find_all("p", "no-papers")
    assert [node.attrs["id"] for node in page.find_all("section")] == ["digest-header"]


@pytest.mark.parametrize(
    ("locale", "section_label", "platform_heading"),
    [("en", "section text", "Slack"), ("ko", "섹션 텍스트", "Slack")],
)
def test_page_chrome_localized(
    reference: Digest, locale: str, section_label: str, platform_heading: str
):
    page = parse_html(
        render_preview(reference, make_config(SLACK_CHANNEL, DISCORD_CHANNEL), locale=locale)
    )
    section = counts(cell(paper_section(page, 1), "slack"), "slack_section")[0]
    html_node = page.find_all("html")[0]

    assert html_node.attrs["lang"] == locale
    assert section.text().startswith(section_label + " ")
    assert page.find_all("h2")[0].text() == platform_heading


def test_korean_chrome_has_no_english_labels(reference: Digest):
    page = parse_html(
        render_preview(reference, make_config(SLACK_CHANNEL, DISCORD_CHANNEL), locale="ko")
    )
    english = Translator("en")
    labels = [node.text() for node in page.find_all("li", "count")]

    assert all(english("preview_part_slack_section") not in label for label in labels)
    assert all(label.endswith(("자", "개")) for label in labels)


def test_locale_default_from_config(reference: Digest):
    page = parse_html(render_preview(reference, make_config(SLACK_CHANNEL, locale="ko")))

    assert page.find_all("html")[0].attrs["lang"] == "ko"


def test_unknown_locale_rejected(reference: Digest):
    with pytest.raises(KeyError, match="unknown locale"):
        render_preview(reference, make_config(SLACK_CHANNEL), locale="fr")


def test_preview_keys_in_both_catalogs_in_order():
    english = [key for key in load_catalog("en") if key.startswith("preview_")]
    korean = [key for key in load_catalog("ko") if key.startswith("preview_")]

    assert english == korean
    assert len(english) > 20


# Command line ---------------------------------------------------------------------------


async def run_cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` and return (exit code, stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    return process.returncode, stdout.decode(), stderr.decode()


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "paperbot.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            locale: en
            source:
              path: {REPO_ROOT / "examples" / "digests"}
              pattern: "{{date}}-daily-papers-*.md"
            channels:
              - {{name: slack-papers, platform: slack, id: C0123456789}}
              - {{name: discord-papers, platform: discord, id: "123456789012345678"}}
            """
        ),
        encoding="utf-8",
    )
    return path


async def test_cli_writes_page_from_date(tmp_path: Path):
    out = tmp_path / "out.html"
    config = write_config(tmp_path)

    code, stdout, stderr = await run_cli(
        "preview", "--date", "2025-09-23", "--config", str(config), "--html", str(out), cwd=tmp_path
    )

    assert code == 0, stderr
    assert stdout == f"{out}: preview of 11 papers written\n"
    page = parse_html(out.read_text(encoding="utf-8"))
    assert len(page.find_all("section", "post")) == 12
    assert page.find_all("html")[0].attrs["lang"] == "en"


async def test_cli_writes_page_from_file_in_korean(tmp_path: Path):
    out = tmp_path / "out.html"
    config = write_config(tmp_path)

    code, _, stderr = await run_cli(
        "preview",
        "--digest",
        str(EXAMPLE_DIGEST),
        "--config",
        str(config),
        "--html",
        str(out),
        "--locale",
        "ko",
        cwd=tmp_path,
    )

    assert code == 0, stderr
    assert parse_html(out.read_text(encoding="utf-8")).find_all("html")[0].attrs["lang"] == "ko"


def _missing_digest(tmp_path: Path, config: Path) -> tuple[list[str], Path]:
    return ["--digest", str(tmp_path / "no-such.md")], tmp_path / "out.html"


def _no_digest_on_date(tmp_path: Path, config: Path) -> tuple[list[str], Path]:
    return ["--date", "2025-01-01"], tmp_path / "out.html"


def _bad_config(tmp_path: Path, config: Path) -> tuple[list[str], Path]:
    config.write_text("channels:\n  - {name: x, platform: irc, id: C1}\n", encoding="utf-8")
    return ["--digest", str(EXAMPLE_DIGEST)], tmp_path / "out.html"


def _output_folder_missing(tmp_path: Path, config: Path) -> tuple[list[str], Path]:
    return ["--digest", str(EXAMPLE_DIGEST)], tmp_path / "missing" / "out.html"


def _output_is_folder(tmp_path: Path, config: Path) -> tuple[list[str], Path]:
    return ["--digest", str(EXAMPLE_DIGEST)], tmp_path


# Each case: how it breaks the input (digest arguments and --html path) and a part of
# the one-line error it must print.
BAD_INPUTS = {
    "missing digest": (_missing_digest, "no-such.md"),
    "no digest on date": (_no_digest_on_date, "no digest for 2025-01-01"),
    "bad config": (_bad_config, "platform"),
    "output folder missing": (_output_folder_missing, "cannot write the preview to"),
    "output is a folder": (_output_is_folder, "cannot write the preview to"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
async def test_cli_bad_input_exits_2(tmp_path: Path, case: str):
    config = write_config(tmp_path)
    break_input, expected = BAD_INPUTS[case]
    digest_args, out = break_input(tmp_path, config)

    code, stdout, stderr = await run_cli(
        "preview", *digest_args, "--config", str(config), "--html", str(out), cwd=tmp_path
    )
    errors = [line for line in stderr.splitlines() if line.startswith("paperbot: error:")]

    assert code == 2
    assert len(errors) >= 1
    assert expected in errors[0]
    assert "Traceback" not in stderr
    assert stdout == ""


async def test_cli_rejects_unknown_locale(tmp_path: Path):
    code, _, stderr = await run_cli(
        "preview",
        "--digest",
        str(EXAMPLE_DIGEST),
        "--html",
        "x.html",
        "--locale",
        "fr",
        cwd=tmp_path,
    )

    assert code == 2
    assert "invalid choice: 'fr'" in stderr
    assert not (tmp_path / "x.html").exists()
