//! The demo's sample image: a small valid PNG (64×64, RGB, a colour
//! gradient) made in code, so the demo ships no binary asset.
//!
//! ```text
//! signature | IHDR | IDAT (zlib: header, one stored deflate block, adler32) | IEND
//! chunk = length (u32 BE) | type | data | crc32(type | data) (u32 BE)
//! ```

/// Width and height in pixels.
pub const SIDE: u32 = 64;

/// The PNG file's bytes.
pub fn png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&SIDE.to_be_bytes());
    // 8 bits per channel, colour type 2 (RGB), deflate, no filter, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib_stored(&pixels()));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Scanlines, each led by filter type 0.
fn pixels() -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..SIDE {
        raw.push(0);
        for x in 0..SIDE {
            let (r, g) = ((x * 255 / (SIDE - 1)) as u8, (y * 255 / (SIDE - 1)) as u8);
            raw.extend_from_slice(&[r, g, 255 - r / 2]);
        }
    }
    raw
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xffff).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the chunks, checking each CRC; returns (type, data) pairs.
    fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut rest = &png[8..];
        let mut found = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = rest[4..8].try_into().unwrap();
            let data = &rest[8..8 + len];
            let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&rest[4..8 + len]), "{kind:?}");
            found.push((kind, data.to_vec()));
            rest = &rest[12 + len..];
        }
        found
    }

    #[test]
    fn the_sample_is_a_well_formed_png() {
        let png = png();
        let chunks = chunks(&png);
        let kinds: Vec<&[u8; 4]> = chunks.iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
        assert_eq!(&chunks[0].1[..8], &[0, 0, 0, 64, 0, 0, 0, 64]);
        let zlib = &chunks[1].1;
        assert_eq!(
            u16::from_be_bytes([zlib[0], zlib[1]]) % 31,
            0,
            "zlib header check"
        );
        let raw = pixels();
        assert_eq!(raw.len(), (1 + 64 * 3) * 64);
        // One final stored block holding every scanline, then the checksum.
        assert_eq!(zlib[2], 1);
        assert_eq!(&zlib[7..7 + raw.len()], &raw[..]);
        assert_eq!(&zlib[zlib.len() - 4..], &adler32(&raw).to_be_bytes());
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
