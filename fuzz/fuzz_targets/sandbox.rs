//! Keeps the config and import targets off files that never end or block.

/// False when `text` has a path-like token that starts with `/dev`, `/proc`,
/// `/sys` or `/run`, or says `include` and has a glob character (nginx
/// expands it against the whole file system).
pub fn safe_paths(text: &str) -> bool {
    let starts = |i: usize| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric();
    let dangerous = ["/dev", "/proc", "/sys", "/run"];
    let slashes = text
        .match_indices('/')
        .map(|(i, _)| i)
        .filter(|&i| starts(i));
    for at in slashes {
        let rest = &text[at..];
        if dangerous.iter().any(|d| rest.starts_with(d)) {
            return false;
        }
    }
    !(text.contains("include") && text.contains(['*', '?', '[']))
}
