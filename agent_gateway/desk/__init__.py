"""The backend's desk application: what agents' desktops are told and what they may ask.

It listens to telephony (calls, queue members), keeps each agent's presence, publishes on
the edge's bus, and carries out the agents' commands through AMI and the CRM.
"""
