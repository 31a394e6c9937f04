//! Output size and source crop for a fit mode: pure arithmetic, no pixels.

use serde::Deserialize;

/// How the image is fitted into the requested box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Fit inside the box, keeping the aspect ratio (the default).
    #[default]
    Contain,
    /// Fill the box, keeping the aspect ratio, cropping the centre.
    Cover,
    /// Exactly the box, stretched.
    Fill,
}

impl Fit {
    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Fill => "fill",
        }
    }

    /// Parses the query-string spelling.
    pub fn parse(text: &str) -> Option<Fit> {
        match text {
            "contain" => Some(Fit::Contain),
            "cover" => Some(Fit::Cover),
            "fill" => Some(Fit::Fill),
            _ => None,
        }
    }
}

/// A region of the source, in source pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// What to make of a `sw`×`sh` source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// The part of the source that is scaled to the output.
    pub crop: Crop,
}

/// Plans a thumbnail of a `sw`×`sh` image into a `bw`×`bh` box (0 = "any",
/// following the other side's scale). Without `enlarge` the output is never
/// larger than the source in either direction.
pub fn plan(sw: u32, sh: u32, bw: u32, bh: u32, fit: Fit, enlarge: bool) -> Plan {
    let (swf, shf) = (f64::from(sw.max(1)), f64::from(sh.max(1)));
    let whole = Crop {
        left: 0.0,
        top: 0.0,
        width: swf,
        height: shf,
    };
    let (rx, ry) = (f64::from(bw) / swf, f64::from(bh) / shf);
    if bw == 0 || bh == 0 {
        let mut scale = if bw == 0 { ry } else { rx };
        if !enlarge {
            scale = scale.min(1.0);
        }
        return scaled(swf, shf, scale, whole);
    }
    match fit {
        Fit::Contain => {
            let mut scale = rx.min(ry);
            if !enlarge {
                scale = scale.min(1.0);
            }
            scaled(swf, shf, scale, whole)
        }
        Fit::Cover => {
            let mut scale = rx.max(ry);
            if !enlarge {
                scale = scale.min(1.0);
            }
            let width = bw.min(px(swf * scale));
            let height = bh.min(px(shf * scale));
            let (cw, ch) = (f64::from(width) / scale, f64::from(height) / scale);
            let crop = Crop {
                left: ((swf - cw) / 2.0).max(0.0),
                top: ((shf - ch) / 2.0).max(0.0),
                width: cw.min(swf),
                height: ch.min(shf),
            };
            Plan {
                width,
                height,
                crop,
            }
        }
        Fit::Fill => {
            let (width, height) = if enlarge {
                (bw, bh)
            } else {
                (bw.min(sw.max(1)), bh.min(sh.max(1)))
            };
            Plan {
                width,
                height,
                crop: whole,
            }
        }
    }
}

fn scaled(swf: f64, shf: f64, scale: f64, crop: Crop) -> Plan {
    Plan {
        width: px(swf * scale),
        height: px(shf * scale),
        crop,
    }
}

/// A pixel count from a scaled length: rounded, at least 1.
fn px(length: f64) -> u32 {
    // Lengths here are at most source size × a bounded scale, far below u32::MAX.
    (length.round() as u32).max(1)
}
