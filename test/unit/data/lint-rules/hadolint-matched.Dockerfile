FROM debian:12.5@sha256:0000000000000000000000000000000000000000000000000000000000000000
WORKDIR app
RUN cd /usr/src && sudo make install
RUN apt-get update && apt-get dist-upgrade -y && rm -rf /var/lib/apt/lists/*
USER 10001
