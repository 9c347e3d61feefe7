module github.com/tide-scaler/tide/benchmarks

go 1.26.0

require github.com/tide-scaler/tide v0.0.0

replace github.com/tide-scaler/tide => ../
