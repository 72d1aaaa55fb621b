//! Shared value types that flow between stages: boxes, points and the decoded image.
//!
//! Frames are plain 8-bit RGB images (`image::RgbImage`); every stage works in pixel
//! coordinates of the frame it was given, so results can be drawn or published without
//! knowing any model's input size.

use serde::Serialize;

/// A decoded 8-bit RGB frame.
pub type Frame = image::RgbImage;

/// A point in frame pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box in frame pixel coordinates (top-left corner, width, height).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn center(&self) -> Point {
        Point { x: self.x + self.w / 2.0, y: self.y + self.h / 2.0 }
    }

    /// Intersection over union; 0 when either box is empty.
    pub fn iou(&self, other: &BBox) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = BBox { x: 0.0, y: 0.0, w: 2.0, h: 2.0 };
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox { x: 5.0, y: 5.0, w: 1.0, h: 1.0 }), 0.0);
        let b = BBox { x: 1.0, y: 0.0, w: 2.0, h: 2.0 };
        assert!((a.iou(&b) - 2.0 / 6.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox::default()), 0.0);
    }
}
