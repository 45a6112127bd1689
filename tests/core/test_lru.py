"""``satchel.lru.SizedLRU``: the bounded LRU behind both page caches."""

import threading

from satchel.lru import SizedLRU
from satchel.web.pagecache import Page, PageCache


def test_the_least_recently_used_leave_first_when_the_bytes_run_out():
    lru = SizedLRU(max_bytes=10)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    assert lru.get("a") == b"1234"  # now b is the oldest
    assert lru.put("c", b"1234")
    assert lru.get("b") is None and lru.get("a") == b"1234" and lru.get("c") == b"1234"
    assert lru.bytes == 8 and len(lru) == 2


def test_the_count_bounds_too_and_a_replaced_value_is_counted_once():
    lru = SizedLRU(max_bytes=1000, max_items=2)
    lru.put("a", b"x" * 10)
    lru.put("a", b"x" * 20)
    assert lru.bytes == 20 and len(lru) == 1
    lru.put("b", b"y")
    lru.put("c", b"z")
    assert lru.get("a") is None and len(lru) == 2 and lru.bytes == 2


def test_a_value_too_big_is_not_kept_and_pushes_nothing_out():
    lru = SizedLRU(max_bytes=10, max_item_bytes=6)
    lru.put("a", b"1234")
    assert not lru.put("big", b"1234567")
    assert lru.get("a") == b"1234" and lru.get("big") is None
    assert not SizedLRU(max_bytes=3).put("over", b"1234")  # bigger than the whole budget


def test_peek_leaves_the_order_alone():
    lru = SizedLRU(max_bytes=8)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    assert lru.peek("a") == b"1234"
    lru.put("c", b"1234")
    assert lru.peek("a") is None and lru.peek("b") == b"1234"


def test_threads_putting_at_once_keep_the_books_right():
    lru = SizedLRU(max_bytes=500, size=len)

    def fill(prefix):
        for number in range(2000):
            lru.put(f"{prefix}{number % 300}", b"v" * (number % 7 + 1))

    threads = [threading.Thread(target=fill, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lru.bytes == sum(len(lru.peek(key)) for key in list(lru._items)) <= 500


def test_the_simple_page_cache_is_bounded_by_bytes_as_well_as_by_count():
    cache = PageCache(maxsize=100, max_bytes=50_000)
    pages = [Page(f"tag{n}", bytes(range(256)) * 40, "text/html", "Accept") for n in range(10)]  # 10 kB each
    for number, page in enumerate(pages):
        cache.put(("key", number), page)
        cache.put_fast(("path", number), page, 0, ["alice/dev"], True)
    kept = [n for n in range(10) if cache.get(("key", n)) is not None]
    assert kept == list(range(10 - len(kept), 10)) and 0 < len(kept) <= 50_000 // pages[0].size
    assert cache.get_fast(("path", 0)) is None and cache.get_fast(("path", 9)) == (pages[9], True)
