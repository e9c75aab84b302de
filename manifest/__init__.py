"""The Teams app package: manifest from configuration, icons, appPackage.zip."""
