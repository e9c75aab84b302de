"""Local stand-ins for Microsoft Entra ID and Microsoft Graph.

Test infrastructure and the no-credentials dev mode share this code; product code imports it only
where the app factory wires sandbox mode.
"""
