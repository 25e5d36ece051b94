"""Background screen capture: grab, detect change, OCR what changed, filter, queue.

Nothing here imports Qt; the UI drives `CaptureService` through its state and listeners.
"""
