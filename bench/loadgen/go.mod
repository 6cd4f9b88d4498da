module github.com/viewer-analytics/bench/loadgen

go 1.22
