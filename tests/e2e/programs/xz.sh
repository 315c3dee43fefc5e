# xz -T2 (two compressing threads) fed by seq through a pipe, checkpointed
# mid-stream: the output decompresses to exactly seq's output.
echo start
seq 1 6000000 | xz -T2 -3 >out.xz
xz -dc out.xz | cksum
