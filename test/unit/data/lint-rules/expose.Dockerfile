FROM scratch
EXPOSE 8080 8000-8010/tcp 53/udp 0 65535 ${PORT}
# A host:container mapping belongs to docker run -p, not to the image.
EXPOSE 80:8080
EXPOSE 70000 http 9000/quic 9010-9000
USER 10001
