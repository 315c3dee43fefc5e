# A shell pipeline, checkpointed mid-stream: bash, seq and gzip with a
# pipe between them. The output decompresses to exactly seq's output.
echo start
seq 1 50000000 | gzip -1 >out.gz
gzip -dc out.gz | cksum
