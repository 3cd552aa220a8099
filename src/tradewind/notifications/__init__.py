"""Notifiers: objects to pass as ``on_failure_callback`` / ``on_success_callback`` (or as a
deadline alert's callback) that tell people something happened, as Airflow's notifiers do."""

from tradewind.notifications.basenotifier import BaseNotifier

__all__ = ["BaseNotifier"]
