FROM debian:12.5@sha256:0000000000000000000000000000000000000000000000000000000000000000
# A pinned package, a local .deb and a variable are not findings; git is.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 ./vendor/tool.deb ${EXTRA_PACKAGES} git \
 && rm -rf /var/lib/apt/lists/*
# Each RUN cleans the lists it fetched: nothing is left for a later layer to delete.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates=20230311 \
 && rm -rf /var/lib/apt/lists/*
USER 10001
