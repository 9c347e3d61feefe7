// Command cmd is `make bench-quality`: it replays the committed traces (or
// the one given with -trace) under every policy of package quality, prints
// the results and goals tables, and with -out writes them and the SVG plots
// into a directory. It owns flags and files only; the harness is package
// quality.
package main
