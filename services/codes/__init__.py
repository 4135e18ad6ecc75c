"""Dispute codes (解纷码) and what citizens reach through them: the public view, online
service requests and video links."""
