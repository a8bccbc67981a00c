// Mailwarden uninstall with REMOVE_DATA=1: deletes every user's data directory
// (%LOCALAPPDATA%\Mailwarden in each profile under the profiles folder). Run as a deferred,
// non-impersonated custom action (LocalSystem) that never fails the uninstall: what cannot be
// deleted stays. Without REMOVE_DATA=1 (the default) users' data is kept, on upgrade and uninstall.
// cmd's for /d walks the profiles (wine's JScript has no Enumerator for FileSystemObject folders).
function RemoveUserData() {
  try {
    var shell = new ActiveXObject("WScript.Shell");
    var root = shell.ExpandEnvironmentStrings(
      shell.RegRead("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\ProfilesDirectory"));
    root = root.replace(/\u0000/g, ""); // wine's RegRead keeps the terminating NUL of a REG_EXPAND_SZ
    var dir = "%u\\AppData\\Local\\Mailwarden";
    // (the loop body in parentheses: a command line ending in a quote loses it in some cmd versions)
    shell.Run('cmd.exe /c cd /d "' + root + '" && for /d %u in (*) do (if exist "' + dir + '" rd /s /q "' + dir + '")',
              0, true);
  } catch (e) { }
  return 1; // IDOK: never block an uninstall over user data
}
