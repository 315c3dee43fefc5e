# A Go program, built here (once per run of the test) from gowork.go:
# its output after restore equals an uninterrupted run's.
set -e
src=$(dirname "${BASH_SOURCE[0]}")/gowork.go
bin=${TMPDIR:-/tmp}/selfckpt-gowork-$(cksum <"$src" | cut -d' ' -f1)
if [ ! -x "$bin" ]; then
	GOCACHE=${TMPDIR:-/tmp}/selfckpt-gocache CGO_ENABLED=0 go build -o "$bin.tmp" "$src"
	mv "$bin.tmp" "$bin"
fi
echo start
"$bin"
