//! Page text for the index: HTML reduced to its visible prose (scripts, styles, templates and
//! navigation chrome dropped; headings and block boundaries kept as paragraph breaks), Markdown
//! with its front matter removed. The output is plain text that is only ever rendered as text.

/// Elements whose content is never page prose.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "nav",
    "header", "footer", "aside", "form", "button", "select", "textarea",
];

/// Elements that end a paragraph, so passage splitting sees their boundaries.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "td",
    "th",
    "pre",
    "blockquote",
    "figure",
    "figcaption",
    "hr",
    "details",
    "summary",
    "body",
];

/// Elements whose content is raw text: no tags inside, only the matching end tag ends it.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed",
];

pub struct PageText {
    pub title: Option<String>,
    pub text: String,
}

struct Tag<'a> {
    name: String,
    closing: bool,
    self_closing: bool,
    attributes: &'a str,
}

/// Parses a tag starting at `s[0] == '<'`; returns it and its byte length, or `None` when `<`
/// does not start a tag (it is then text).
fn parse_tag(s: &str) -> Option<(Tag<'_>, usize)> {
    let bytes = s.as_bytes();
    let closing = bytes.get(1) == Some(&b'/');
    let name_start = if closing { 2 } else { 1 };
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    let mut i = name_start;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    let attributes_start = i;
    let mut quote = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'"' | b'\'') => quote = Some(bytes[i]),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => {
                let attributes = &s[attributes_start..i];
                let tag = Tag {
                    name,
                    closing,
                    self_closing: attributes.ends_with('/'),
                    attributes,
                };
                return Some((tag, i + 1));
            }
            _ => {}
        }
        i += 1;
    }
    // An unterminated tag swallows the rest of the page, as browsers do.
    let tag = Tag {
        name,
        closing,
        self_closing: true,
        attributes: "",
    };
    Some((tag, s.len()))
}

/// The byte offset of the end tag `</name` (ASCII case-insensitive) in `s`, or `s.len()`.
fn find_end_tag(s: &str, name: &str) -> usize {
    let lower = s.to_ascii_lowercase();
    let needle = format!("</{name}");
    let mut from = 0;
    while let Some(at) = lower[from..].find(&needle) {
        let after = from + at + needle.len();
        match lower.as_bytes().get(after) {
            None | Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => return from + at,
            _ => from = after,
        }
    }
    s.len()
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return Some(match char::from_u32(code) {
            Some('\0') | None => '\u{fffd}',
            Some(c) => c,
        });
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "middot" => '·',
        "bull" => '•',
        "times" => '×',
        "rarr" => '→',
        "larr" => '←',
        _ => return None,
    })
}

/// Decodes character references; unknown ones stay as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|i| i + 1)
            .unwrap_or(rest.len());
        match entity(&rest[1..end]) {
            Some(c) if end > 1 => {
                out.push(c);
                rest = &rest[end..];
                if rest.starts_with(';') {
                    rest = &rest[1..];
                }
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text of paragraphs joined by blank lines; whitespace inside a paragraph collapsed (but line
/// breaks kept inside `<pre>`).
struct TextSink {
    paragraphs: Vec<String>,
    current: String,
}

impl TextSink {
    fn push_text(&mut self, raw: &str, preformatted: bool) {
        let decoded = decode_entities(raw);
        for c in decoded.chars() {
            if c.is_whitespace() && !(preformatted && c == '\n') {
                if !self.current.is_empty() && !self.current.ends_with([' ', '\n']) {
                    self.current.push(' ');
                }
            } else if c == '\n' {
                let line = self.current.trim_end_matches(' ').len();
                self.current.truncate(line);
                self.current.push('\n');
            } else if !c.is_control() {
                self.current.push(c);
            }
        }
    }

    fn break_paragraph(&mut self) {
        let p = self.current.trim().to_string();
        if !p.is_empty() {
            self.paragraphs.push(p);
        }
        self.current.clear();
    }

    fn finish(mut self) -> String {
        self.break_paragraph();
        self.paragraphs.join("\n\n")
    }
}

fn collapse(s: &str) -> String {
    decode_entities(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Visible prose of an HTML page and its title (`<title>`, else the first `<h1>`). When the page
/// has a `<main>` element, only its content counts (the rest is site chrome).
pub fn html_to_text(html: &str) -> PageText {
    let lower = html.to_ascii_lowercase();
    let body = match (lower.find("<main"), lower.rfind("</main")) {
        (Some(start), Some(end)) if start < end => &html[start..end],
        _ => html,
    };
    let title = extract_title(html);
    let mut sink = TextSink {
        paragraphs: Vec::new(),
        current: String::new(),
    };
    let mut first_h1: Option<String> = None;
    let mut in_h1: Option<String> = None;
    let mut dropped_depth: Vec<String> = Vec::new();
    let mut pre_depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        let Some(lt) = rest.find('<') else {
            if dropped_depth.is_empty() {
                sink.push_text(rest, pre_depth > 0);
                if let Some(h) = in_h1.as_mut() {
                    h.push_str(rest);
                }
            }
            break;
        };
        if lt > 0 {
            if dropped_depth.is_empty() {
                sink.push_text(&rest[..lt], pre_depth > 0);
                if let Some(h) = in_h1.as_mut() {
                    h.push_str(&rest[..lt]);
                }
            }
            i += lt;
            continue;
        }
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
            continue;
        }
        let Some((tag, len)) = parse_tag(rest) else {
            if dropped_depth.is_empty() {
                sink.push_text("<", pre_depth > 0);
            }
            i += 1;
            continue;
        };
        i += len;
        let name = tag.name.as_str();
        let hidden = !tag.closing
            && (has_attribute(tag.attributes, "hidden")
                || tag
                    .attributes
                    .to_ascii_lowercase()
                    .contains("role=\"navigation\""));
        if !tag.closing && RAW_TEXT.contains(&name) {
            // Skip the raw content entirely (a <title> inside the body is not prose either).
            i += find_end_tag(&body[i..], name);
            continue;
        }
        if tag.closing {
            if let Some(pos) = dropped_depth.iter().rposition(|n| n == name) {
                dropped_depth.truncate(pos);
                continue;
            }
        } else if DROPPED.contains(&name) || hidden {
            if !tag.self_closing && !is_void(name) {
                dropped_depth.push(name.to_string());
            }
            continue;
        }
        if !dropped_depth.is_empty() {
            continue;
        }
        if name == "pre" {
            pre_depth = if tag.closing {
                pre_depth.saturating_sub(1)
            } else {
                pre_depth + 1
            };
        }
        if name == "h1" {
            if tag.closing {
                if let Some(h) = in_h1.take() {
                    first_h1.get_or_insert_with(|| collapse(&h));
                }
            } else if first_h1.is_none() {
                in_h1 = Some(String::new());
            }
        }
        if name == "br" {
            sink.push_text("\n", true);
        } else if BLOCKS.contains(&name) {
            sink.break_paragraph();
        }
    }
    let title = title.or(first_h1).filter(|t| !t.is_empty());
    PageText {
        title,
        text: sink.finish(),
    }
}

fn has_attribute(attributes: &str, name: &str) -> bool {
    attributes
        .split(|c: char| c.is_whitespace() || c == '/')
        .any(|a| {
            a.eq_ignore_ascii_case(name) || a.to_ascii_lowercase().starts_with(&format!("{name}="))
        })
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
    )
}

fn extract_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<title") {
        let start = from + at;
        let rest = &html[start..];
        if let Some((tag, len)) = parse_tag(rest) {
            if tag.name == "title" && !tag.closing {
                let content = &rest[len..];
                let end = find_end_tag(content, "title");
                return Some(collapse(&content[..end])).filter(|t| !t.is_empty());
            }
        }
        from = start + 6;
    }
    None
}

/// A Markdown file: front matter dropped (its `title:` used), title from it or the first `# `
/// heading. The text stays as written (it is indexed and shown as text).
pub fn markdown_to_text(md: &str) -> PageText {
    let mut body = md;
    let mut title = None;
    if let Some(rest) = md
        .strip_prefix("---\n")
        .or_else(|| md.strip_prefix("---\r\n"))
    {
        if let Some(end) = rest.find("\n---") {
            for line in rest[..end].lines() {
                if let Some(t) = line.strip_prefix("title:") {
                    let t = t.trim().trim_matches(['"', '\'']).trim();
                    if !t.is_empty() {
                        title = Some(t.to_string());
                    }
                }
            }
            let after = &rest[end + 4..];
            body = after.find('\n').map_or("", |n| &after[n + 1..]);
        }
    }
    if title.is_none() {
        title = body
            .lines()
            .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty());
    }
    PageText {
        title,
        text: body.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_scripts_styles_and_chrome_and_keeps_headings() {
        let page = html_to_text(
            "<html><head><title>A &amp; B</title><style>p{}</style></head><body>\
             <nav><a href=x>Home</a></nav><h1>Heading</h1><p>Some <b>bold</b> text.</p>\
             <script>if (a < b) { document.write('<p>x</p>') }</script><footer>foot</footer></body></html>",
        );
        assert_eq!(page.title.as_deref(), Some("A & B"));
        assert_eq!(page.text, "Heading\n\nSome bold text.");
    }

    #[test]
    fn main_element_wins_and_entities_decode() {
        let page = html_to_text(
            "<div>menu</div><main><h1>T</h1><p>x &lt;y&gt; &#x41;&#66; &bogus;</p></main>",
        );
        assert_eq!(page.title.as_deref(), Some("T"));
        assert_eq!(page.text, "T\n\nx <y> AB &bogus;");
    }

    #[test]
    fn markdown_front_matter() {
        let page = markdown_to_text("---\ntitle: \"Hello\"\n---\n# Other\n\ntext");
        assert_eq!(page.title.as_deref(), Some("Hello"));
        assert_eq!(page.text, "# Other\n\ntext");
    }
}
