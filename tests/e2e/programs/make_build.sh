# Run by tests/e2e/run (make_build.e2e): generates a small C project (30
# sources, 3 programs) in the work directory and builds it with make -j2,
# checkpointed mid-build. Prints the programs' checksums and outputs,
# which must equal an uninterrupted build's.
set -e
# A build of its own, not a submake of whatever runs the test.
unset MAKEFLAGS MFLAGS MAKELEVEL
rm -rf proj
mkdir proj
cd proj
for p in 1 2 3; do
	objs=
	for i in $(seq 1 10); do
		f=p${p}_f$i
		{
			# Enough code per file that the build takes a few seconds.
			echo "unsigned long $f(unsigned long x) {"
			for k in $(seq 1 60); do
				echo "	for (int i = 0; i < $((k + i)); i++)"
				echo "		x = x * $((k * 2 + 1))UL + ($((p * 100 + i)) ^ (x >> $((k % 31 + 1))));"
			done
			echo "	return x;"
			echo "}"
		} >"$f.c"
		objs="$objs $f.o"
	done
	{
		echo "#include <stdio.h>"
		for i in $(seq 1 10); do echo "unsigned long p${p}_f$i(unsigned long);"; done
		echo "int main(void) { unsigned long x = $p;"
		for i in $(seq 1 10); do echo "	x = p${p}_f$i(x);"; done
		echo "	printf(\"prog$p %lu\\n\", x); return 0; }"
	} >"main$p.c"
	echo "prog$p: main$p.o$objs" >>deps.mk
	echo "	\$(CC) -o \$@ \$^" >>deps.mk
done
cat >Makefile <<'MK'
CFLAGS = -O2 -pipe
all: prog1 prog2 prog3
include deps.mk
MK
echo start
make -j2 >/dev/null
cksum prog1 prog2 prog3
./prog1
./prog2
./prog3
