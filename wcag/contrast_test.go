package wcag

import (
	"image"
	"image/color"
	"testing"
)

// TestPixelReadsWhatAtReads: the direct read of a decoded screenshot gives
// the colour img.At gives, for every kind of image and alpha.
func TestPixelReadsWhatAtReads(t *testing.T) {
	rect := image.Rect(0, 0, 2, 1)
	rgbaImg, nrgbaImg, grayImg := image.NewRGBA(rect), image.NewNRGBA(rect), image.NewGray(rect)
	rgbaImg.Set(1, 0, color.RGBA{R: 12, G: 34, B: 56, A: 255})
	nrgbaImg.Set(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 255})
	nrgbaImg.Set(1, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 128})
	grayImg.Set(1, 0, color.Gray{Y: 77})
	cases := []struct {
		name string
		img  image.Image
		x    int
		want [3]uint8
	}{
		{"rgba opaque", rgbaImg, 1, [3]uint8{12, 34, 56}},
		{"rgba transparent", rgbaImg, 0, [3]uint8{0, 0, 0}},
		{"nrgba opaque", nrgbaImg, 0, [3]uint8{200, 100, 50}},
		{"nrgba half transparent (premultiplied, as At gives it)", nrgbaImg, 1, [3]uint8{100, 50, 25}},
		{"gray", grayImg, 1, [3]uint8{77, 77, 77}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, g, b, _ := tc.img.At(tc.x, 0).RGBA()
			at := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
			if got := pixel(tc.img, tc.x, 0); got != tc.want || got != at {
				t.Errorf("pixel = %v, want %v (At gives %v)", got, tc.want, at)
			}
		})
	}
}

// TestMaxContrastOverBackgrounds: the highest contrast over every colour
// sampled in the box, each colour measured once.
func TestMaxContrastOverBackgrounds(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 20))
	for y := range 20 {
		for x := range 100 {
			c := color.RGBA{R: 255, G: 255, B: 255, A: 255}
			if x >= 90 {
				c = color.RGBA{R: 119, G: 119, B: 119, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	black := rgba{0, 0, 0, 1}
	grey := rgba{119, 119, 119, 1}
	cases := []struct {
		name string
		box  Rect
		fg   rgba
		want float64
	}{
		{"black on white", Rect{0, 0, 80, 20}, black, 21},
		{"grey text on white and grey: white gives the best", Rect{0, 0, 100, 20}, grey, contrast(grey, rgba{255, 255, 255, 1})},
		{"grey text on grey only", Rect{90, 0, 10, 20}, grey, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := maxContrast(img, tc.box, tc.fg)
			if !ok || got < tc.want-0.01 || got > tc.want+0.01 {
				t.Errorf("maxContrast = %.3f, %v; want %.3f", got, ok, tc.want)
			}
		})
	}
}
