# A statically linked busybox shell loop, its sleep applets forked
# children: the output after restore equals an uninterrupted run's.
echo start
busybox sh -c 'i=0; while [ $i -lt 40 ]; do echo "step $i $((i * i))"; i=$((i + 1)); busybox sleep 0.1; done'
