"""Chinese word segmentation for routing, with the responsibility list's keywords as words.

Each segmenter owns a private jieba dictionary, so adding an admin's keywords here never changes
segmentation elsewhere in the process. Building one loads jieba's dictionary (about a second),
so the API keeps one and only adds words as rules change.
"""

import threading
from collections.abc import Iterable

import jieba


class Segmenter:
    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self.add_words(extra_words)

    def add_words(self, words: Iterable[str]) -> None:
        with self._lock:
            for word in words:
                if word and word not in self._known:
                    self._tokenizer.add_word(word)
                    self._known.add(word)

    def words(self, text: str) -> list[str]:
        """Search-mode cut: long words also yield their parts, so '噪音扰民' matches '噪音'."""
        with self._lock:
            return [w for w in self._tokenizer.cut_for_search(text) if w.strip()]
