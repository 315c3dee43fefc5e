# Deterministic work for the perl e2e test: an iterated MD5 chain and a
# pure-Perl prime count, with a progress line per chunk.
use strict;
use warnings;
use Digest::MD5 qw(md5);

$| = 1;
my ($chunks, $hashes, $span) = (24, 80000, 50000);
print "perl: start\n";
my $h = "selfckpt";
my ($primes, $acc) = (0, 0);
for my $c (0 .. $chunks - 1) {
	$h = md5($h) for 1 .. $hashes;
	my ($lo, $hi) = ($c * $span + 2, ($c + 1) * $span + 2);
	N: for my $n ($lo .. $hi - 1) {
		next if $n % 2 == 0 && $n != 2;
		for (my $d = 3; $d * $d <= $n; $d += 2) {
			next N if $n % $d == 0;
		}
		$primes++;
		$acc = ($acc * 31 + $n) % 1000000007;
	}
	printf "perl: chunk %d/%d %s primes=%d acc=%d\n", $c + 1, $chunks,
	    substr(unpack("H*", $h), 0, 16), $primes, $acc;
}
printf "perl: result %s %d %d\n", unpack("H*", $h), $primes, $acc;
