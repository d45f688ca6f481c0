FROM scratch
MAINTAINER Jane Doe <jane@example.com>
LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
USER 10001
