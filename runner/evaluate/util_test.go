package evaluate

import "math"

func float32Nan() float32 { return float32(math.NaN()) }
