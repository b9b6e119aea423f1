"""The procedure search page and the search form on the home page."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from portal.i18n import LANGUAGE_COOKIE


def page(client: FlaskClient, query: str | None) -> str:
    response = client.get("/search", query_string={} if query is None else {"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def result_titles(text: str) -> list[str]:
    return [html.unescape(title) for title in re.findall(r"<h2>([^<]*)</h2>", text)]


def life_event_links(text: str) -> list[str]:
    return re.findall(r'<a href="(/life-events/[a-z_]+)">', text)


def test_home_offers_a_labelled_search_form_before_the_life_events(client, procedures_loaded):
    home = client.get("/").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/search" role="search">.*?</form>', home, re.S)
    assert form, "no search form on the home page"
    assert '<label class="label" for="home-search-q">' in form.group()
    assert 'id="home-search-q" name="q"' in form.group()
    assert '<button class="button" type="submit">' in form.group()
    assert home.index('action="/search"') < home.index("<h2>あてはまる出来事を選んでください</h2>")


def test_a_hiragana_query_finds_katakana_titles_and_links_their_life_events(
    client, procedures_loaded
):
    text = page(client, "まいなんばー　かーど")
    assert result_titles(text)[0] == "マイナンバーカードの継続利用の手続き"
    assert "/life-events/moving" in life_event_links(text)
    assert 'value="まいなんばー　かーど"' in text
    assert '<div role="status">' in text


def test_an_english_query_on_the_english_page(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    text = page(client, "joining national health insurance")
    assert '<html lang="en">' in text
    assert result_titles(text) == ["Joining National Health Insurance"]
    assert life_event_links(text) == ["/life-events/childcare", "/life-events/moving"]
    assert ">Pregnancy and a new baby</a>" in text
    assert ">You can do this online</strong>" in text.replace("\n", "").replace("  ", "")


def test_the_same_query_in_either_language_shows_that_language(client, procedures_loaded):
    japanese = page(client, "child allowance claim")
    assert result_titles(japanese)[0] == "児童手当 認定請求（額改定請求）"
    assert ">妊娠・出産</a>" in japanese
    client.set_cookie(LANGUAGE_COOKIE, "en")
    english = page(client, "児童手当 認定請求")
    assert result_titles(english)[0] == "Child allowance claim"


def test_a_counter_procedure_says_it_needs_a_visit(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    text = page(client, "転入届")
    assert result_titles(text)[0] == "Notice of moving into the city"
    assert "This needs a visit to the counter" in text


def test_no_result_says_so_and_echoes_the_query(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    text = page(client, "golf")
    assert result_titles(text) == []
    assert "No procedures match “golf”." in text


def test_an_empty_query_asks_for_a_word(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    for query in (None, "", "  \u3000"):
        text = page(client, query)
        assert "Type a word to search for" in text
        assert result_titles(text) == []


def test_the_query_is_escaped_wherever_it_is_echoed(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    attack = '"><script>alert(1)</script>'
    text = page(client, attack)
    assert "<script>alert(1)" not in text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in text
    assert "No procedures match “&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;”." in text


def test_an_over_long_query_is_refused_politely_with_the_form_kept(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    query = "allowance " * 10 + "x"
    text = page(client, query)
    assert "<title>Error: " in text
    assert "Please shorten your search to 100 characters or fewer." in text
    assert f'value="{query}"' in text
    assert result_titles(text) == []
    # One character fewer is a search like any other.
    assert "Child allowance claim" in result_titles(page(client, query[:100]))


def test_many_hits_are_cut_to_twenty_with_a_hint_to_narrow(client, procedures_loaded):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    text = page(client, "the")
    assert len(result_titles(text)) == 20
    assert "More than 20 procedures match “the”." in text


def test_the_search_works_before_anything_is_published(client):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    text = page(client, "まいなんばー")
    assert result_titles(text) == []
    assert "No procedures match “まいなんばー”." in text
