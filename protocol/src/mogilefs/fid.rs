//! Where a fid lives on a storage device.
//!
//! ```text
//! fid 2           -> /dev1/0/000/000/0000000002.fid
//! fid 12345678901 -> /dev3/1/234/567/12345678901.fid
//! ```
//! The fid is zero-padded to at least 10 digits; the three directories are digit
//! 1, digits 2-4 and digits 5-7 of that padded form.

/// The URL path of `fid` on device `devid`.
pub fn fid_path(devid: u64, fid: u64) -> String {
    let padded = format!("{fid:010}");
    format!(
        "/dev{devid}/{}/{}/{}/{padded}.fid",
        &padded[0..1],
        &padded[1..4],
        &padded[4..7]
    )
}

/// The fid named by a storage URL or path ending in `<digits>.fid`, if any.
pub fn fid_of_path(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    let digits = name.strip_suffix(".fid")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_tracker() {
        assert_eq!(fid_path(1, 2), "/dev1/0/000/000/0000000002.fid");
        assert_eq!(fid_path(2, 472), "/dev2/0/000/000/0000000472.fid");
        assert_eq!(fid_path(3, 12345678901), "/dev3/1/234/567/12345678901.fid");
    }

    #[test]
    fn fid_is_read_back_from_urls() {
        assert_eq!(
            fid_of_path("http://127.0.0.2:7500/dev2/0/000/000/0000000472.fid"),
            Some(472)
        );
        assert_eq!(fid_of_path("/x/y.jpg"), None);
        assert_eq!(fid_of_path("/x/.fid"), None);
    }
}
