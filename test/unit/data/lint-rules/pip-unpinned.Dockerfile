FROM python:3.12.2-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000
# A range is not a pin; the project itself and a wheel file are not index packages.
RUN pip install --no-cache-dir flask==3.0.2 'requests>=2' gunicorn . ./wheels/app-1.0-py3-none-any.whl
# A constraints file pins what it lists; a requirements file is the manifest.
RUN pip install --no-cache-dir -c constraints.txt celery
RUN python3 -m pip install --no-cache-dir -r requirements.txt
USER 10001
