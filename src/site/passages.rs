//! Splitting documents into passages: a faithful port of `js/passages.js` (`splitPassages`), so a
//! site built natively has the same passages as the JS library would make. Like the JS, it works
//! on UTF-16 code units (offsets are JS string indices) and counts with the caller's tokenizer.
//!
//! By paragraphs, packed greedily up to a token budget; a paragraph over the budget is cut at line
//! ends, then at sentence ends, then at spaces.

use crate::error::{Error, Result};

/// A passage as `[start, end)` UTF-16 offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// The JS text, and its slices as Rust strings (a lone surrogate becomes U+FFFD, as the browser's
/// `TextEncoder` does when a JS string reaches the wasm tokenizer).
pub struct Utf16Text {
    units: Vec<u16>,
}

impl Utf16Text {
    pub fn new(text: &str) -> Self {
        Self {
            units: text.encode_utf16().collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn slice(&self, start: usize, end: usize) -> String {
        String::from_utf16_lossy(&self.units[start..end])
    }
}

/// JavaScript's `\s`: WhiteSpace and LineTerminator.
fn is_js_space(u: u16) -> bool {
    matches!(
        u,
        0x09..=0x0d
            | 0x20
            | 0xa0
            | 0x1680
            | 0x2000..=0x200a
            | 0x2028
            | 0x2029
            | 0x202f
            | 0x205f
            | 0x3000
            | 0xfeff
    )
}

fn push_trimmed(out: &mut Vec<Span>, t: &[u16], mut start: usize, mut end: usize) {
    while start < end && is_js_space(t[start]) {
        start += 1;
    }
    while end > start && is_js_space(t[end - 1]) {
        end -= 1;
    }
    if end > start {
        out.push(Span { start, end });
    }
}

/// `/\n[ \t\f\v\r]*\n\s*/g` from `from`: the next match as `(index, length)`.
fn next_paragraph_break(t: &[u16], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < t.len() {
        if t[i] == 0x0a {
            let mut j = i + 1;
            while j < t.len() && matches!(t[j], 0x20 | 0x09 | 0x0c | 0x0b | 0x0d) {
                j += 1;
            }
            if j < t.len() && t[j] == 0x0a {
                j += 1;
                while j < t.len() && is_js_space(t[j]) {
                    j += 1;
                }
                return Some((i, j - i));
            }
        }
        i += 1;
    }
    None
}

fn paragraphs(t: &[u16]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut from = 0;
    loop {
        let m = next_paragraph_break(t, from);
        let end = m.map_or(t.len(), |(index, _)| index);
        push_trimmed(&mut out, t, start, end);
        let Some((index, len)) = m else { break };
        start = index + len;
        from = start;
    }
    out
}

#[derive(Clone, Copy)]
enum CutRule {
    /// `/\n/g`
    LineEnd,
    /// `/[.!?…。！？]+["'”’)\]]*\s+/g`
    SentenceEnd,
}

fn is_sentence_mark(u: u16) -> bool {
    matches!(u, 0x2e | 0x21 | 0x3f | 0x2026 | 0x3002 | 0xff01 | 0xff1f)
}

fn is_closer(u: u16) -> bool {
    matches!(u, 0x22 | 0x27 | 0x201d | 0x2019 | 0x29 | 0x5d)
}

/// The next match of `rule` in `s` at or after `from`, as `(index, length)`.
fn next_cut(s: &[u16], from: usize, rule: CutRule) -> Option<(usize, usize)> {
    match rule {
        CutRule::LineEnd => (from..s.len()).find(|&i| s[i] == 0x0a).map(|i| (i, 1)),
        CutRule::SentenceEnd => {
            let mut i = from;
            while i < s.len() {
                if !is_sentence_mark(s[i]) {
                    i += 1;
                    continue;
                }
                // The three classes are disjoint, so greedy matching needs no backtracking, and
                // every start inside one run of marks has the same continuation.
                let mut j = i;
                while j < s.len() && is_sentence_mark(s[j]) {
                    j += 1;
                }
                let marks_end = j;
                while j < s.len() && is_closer(s[j]) {
                    j += 1;
                }
                let spaces = j;
                while j < s.len() && is_js_space(s[j]) {
                    j += 1;
                }
                if j > spaces {
                    return Some((i, j - i));
                }
                i = marks_end;
            }
            None
        }
    }
}

/// Pieces of `[start, end)` cut after each match of `rule`.
fn cut_after(t: &[u16], start: usize, end: usize, rule: CutRule) -> Vec<Span> {
    let mut out = Vec::new();
    let slice = &t[start..end];
    let mut from = 0;
    let mut search = 0;
    while let Some((index, len)) = next_cut(slice, search, rule) {
        let cut = index + len;
        search = cut;
        if cut < slice.len() {
            push_trimmed(&mut out, t, start + from, start + cut);
            from = cut;
        }
    }
    push_trimmed(&mut out, t, start + from, end);
    out
}

/// JS `text.lastIndexOf(" ", from)`.
fn last_space_at_or_before(t: &[u16], from: usize) -> Option<usize> {
    let last = from.min(t.len().checked_sub(1)?);
    (0..=last).rev().find(|&i| t[i] == 0x20)
}

struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
}

struct Splitter<'a, F> {
    text: &'a Utf16Text,
    max_tokens: usize,
    count: F,
    units: Vec<Unit>,
}

impl<F: FnMut(&str) -> Result<usize>> Splitter<'_, F> {
    fn count(&mut self, start: usize, end: usize) -> Result<usize> {
        let s = self.text.slice(start, end);
        (self.count)(&s)
    }

    fn add_unit(&mut self, start: usize, end: usize, depth: u8) -> Result<()> {
        let tokens = self.count(start, end)?;
        if tokens <= self.max_tokens {
            self.units.push(Unit { start, end, tokens });
            return Ok(());
        }
        if depth < 2 {
            let rule = if depth == 0 {
                CutRule::LineEnd
            } else {
                CutRule::SentenceEnd
            };
            let pieces = cut_after(&self.text.units, start, end, rule);
            if pieces.len() > 1 {
                for p in pieces {
                    self.add_unit(p.start, p.end, depth + 1)?;
                }
                return Ok(());
            }
            return self.add_unit(start, end, depth + 1);
        }
        self.split_at_spaces(start, end, tokens)
    }

    /// A run of text with no usable sentence end: chunks of about the budget's length.
    fn split_at_spaces(&mut self, start: usize, end: usize, tokens: usize) -> Result<()> {
        let t = &self.text.units;
        let mut chars_per_token = (end - start) as f64 / tokens.max(1) as f64;
        let mut pos = start;
        while pos < end {
            let mut target = (self.max_tokens as f64 * chars_per_token * 0.9).floor();
            loop {
                let mut cut = end.min(pos + target.max(1.0) as usize);
                if cut < end {
                    if let Some(space) = last_space_at_or_before(t, cut) {
                        if space as f64 > pos as f64 + target / 2.0 {
                            cut = space;
                        }
                    }
                }
                let n = self.count(pos, cut)?;
                if n <= self.max_tokens || cut - pos <= 1 {
                    let mut piece = Vec::new();
                    push_trimmed(&mut piece, t, pos, cut);
                    if let Some(span) = piece.pop() {
                        self.units.push(Unit {
                            start: span.start,
                            end: span.end,
                            tokens: n,
                        });
                    }
                    pos = cut;
                    while pos < end && is_js_space(t[pos]) {
                        pos += 1;
                    }
                    break;
                }
                chars_per_token = f64::max(0.25, (cut - pos) as f64 / n as f64);
                target = f64::max(
                    1.0,
                    f64::min(target * 0.8, self.max_tokens as f64 * chars_per_token * 0.9).floor(),
                );
            }
        }
        Ok(())
    }
}

/// Splits `text` into passages of at most `max_tokens` tokens as counted by `count`, like
/// `splitPassages(text, {maxTokens, countTokens})`. A blank text gives no passages.
pub fn split_passages(
    text: &Utf16Text,
    max_tokens: usize,
    count: impl FnMut(&str) -> Result<usize>,
) -> Result<Vec<Span>> {
    if max_tokens < 8 {
        return Err(Error::input(format!(
            "maxTokens must be at least 8 (got {max_tokens})"
        )));
    }
    let mut s = Splitter {
        text,
        max_tokens,
        count,
        units: Vec::new(),
    };
    for p in paragraphs(&text.units) {
        s.add_unit(p.start, p.end, 0)?;
    }
    let units = std::mem::take(&mut s.units);
    let mut passages = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i + 1;
        let mut sum = units[i].tokens;
        while j < units.len() && sum + units[j].tokens <= max_tokens {
            sum += units[j].tokens;
            j += 1;
        }
        while j > i + 1 && s.count(units[i].start, units[j - 1].end)? > max_tokens {
            j -= 1;
        }
        passages.push(Span {
            start: units[i].start,
            end: units[j - 1].end,
        });
        i = j;
    }
    Ok(passages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Result<usize> {
        Ok(s.split_whitespace().count())
    }

    fn texts(text: &str, max: usize) -> Vec<String> {
        let t = Utf16Text::new(text);
        split_passages(&t, max, words)
            .unwrap()
            .iter()
            .map(|p| t.slice(p.start, p.end))
            .collect()
    }

    #[test]
    fn packs_paragraphs_and_cuts_long_ones_at_sentences() {
        let text =
            "one two three\n\nfour five\n\n\nsix seven eight nine ten. eleven twelve. thirteen fourteen";
        assert_eq!(
            texts(text, 8),
            [
                "one two three\n\nfour five",
                "six seven eight nine ten. eleven twelve.",
                "thirteen fourteen"
            ]
        );
        assert!(texts(" \n\n\t ", 8).is_empty());
    }

    #[test]
    fn offsets_are_utf16_indices() {
        let t = Utf16Text::new("😀 a\n\nb");
        let spans = split_passages(&t, 8, |_| Ok(100)).unwrap_or_default();
        // Over budget everywhere: cut at spaces down to single units, never panicking on surrogates.
        assert!(!spans.is_empty());
        assert!(split_passages(&t, 7, words).is_err());
    }
}
